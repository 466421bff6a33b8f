"""fem_assb.forms"""
