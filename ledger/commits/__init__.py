"""Commits as runs: the hooks' inbox, its ingester, the link decision, and backfill from history."""
