"""fem_assb.meshing"""
