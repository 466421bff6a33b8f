"""fem_assb.studies"""
