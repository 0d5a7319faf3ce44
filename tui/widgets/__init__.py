"""Reusable widgets of the terminal UI; none of them knows about the ledger store."""
