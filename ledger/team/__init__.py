"""Sharing a ledger: `ledger sync` between ledgers and gits, `ledger export` to files and MLflow."""
