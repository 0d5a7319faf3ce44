"""The Textual terminal UI (`ledger ui`)."""
