"""The schema revision this exp-ledger writes, importable without SQLAlchemy or Alembic.

Read-only fast paths (`ledger.read.sqlite_snapshot`) check a ledger's stamped revision against
it before reading the tables directly.
"""

from __future__ import annotations

SCHEMA_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")
"""Every migration this version ships, oldest first; a test checks them against Alembic."""

SCHEMA_HEAD = SCHEMA_REVISIONS[-1]

BUSY_TIMEOUT_MS = 30_000
"""How long an SQLite writer waits for another: hooks, runs and the TUI share the file."""
