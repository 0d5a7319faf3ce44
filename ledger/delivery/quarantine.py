"""Spool records the ledger cannot read or write are set aside, never retried forever.

Every reader settles the spool before it reads (`ledger.delivery.settle.settle`): a record
that fails there every time would hide every later run behind the same error. Such a
record is moved, whole, to `quarantine/` beside the spool with the reason it failed,
`ledger doctor` lists it, and every other run stays visible.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, ProgrammingError

from ledger.core.errors import LedgerError, StoreError

if TYPE_CHECKING:
    from pathlib import Path

QUARANTINE = "quarantine"
REASON = "reason.txt"


def quarantine_dir(spool_dir: Path) -> Path:
    """Where set-aside records go: beside the spool, in the ledger's folder."""
    return spool_dir.parent / QUARANTINE


def is_record_fault(error: Exception) -> bool:
    """Whether the failure lies in the record itself, not in the database or the disk.

    A locked, unreachable or corrupt database, or a full disk, fails every record
    alike: those records wait for the next reader. A record the database refuses, or
    that cannot be unpickled or encoded, would fail the same way every time.
    """
    if isinstance(error, StoreError):
        refused = (DataError, IntegrityError, InterfaceError, ProgrammingError)
        return type(error) is StoreError and isinstance(error.__cause__, refused)
    return not isinstance(error, (LedgerError, OSError))


def set_aside(spool_dir: Path, folder: Path, error: Exception) -> Path:
    """Move a run's spool folder to the quarantine with a `reason.txt`; returns where."""
    target_dir = quarantine_dir(spool_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / folder.name
    if target.exists():
        target = target_dir / f"{folder.name}-{time.time_ns()}"
    folder.rename(target)
    (target / REASON).write_text(f"{_reason(error)}\n")
    return target


def set_aside_records(spool_dir: Path) -> list[tuple[Path, str]]:
    """Every set-aside record with its reason, oldest first."""
    folder = quarantine_dir(spool_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        try:
            reason = (path / REASON).read_text().strip()
        except OSError:
            reason = "(no reason recorded)"
        found.append((path, reason))
    return found


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
