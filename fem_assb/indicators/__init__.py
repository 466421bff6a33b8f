"""fem_assb.indicators"""
