"""Code that runs inside the processes a `ledger run` starts; see `sitecustomize`.

This folder goes on the child's PYTHONPATH, so it holds nothing but `sitecustomize.py`
(and this file, which no import can name).
"""
