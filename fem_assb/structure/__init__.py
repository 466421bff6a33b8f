"""fem_assb.structure"""
