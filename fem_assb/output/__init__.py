"""fem_assb.output"""
