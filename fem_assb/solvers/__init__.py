"""fem_assb.solvers"""
