"""fem_assb.materials"""
