"""commits"""
