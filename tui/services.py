"""What the app is given to work with: the store, the repository, the settings file, a clock.

Tests build the app from these with a seeded store and a frozen clock (the posting
and toolong factories), so nothing in the UI reaches out to find its own.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ledger.core.errors import LedgerError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace
    from ledger.tui.runs_loader import Prefetch


class Clock(Protocol):
    """Seconds since the epoch; a fixed one makes the age column reproducible."""

    def __call__(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Services:
    """Everything the app needs from outside, injected through `LedgerApp.__init__`."""

    store: Store | None
    """The open ledger; None when there is no ledger yet (the app explains how to start),
    or when `open_store` opens it on first use."""
    root: Path | None = None
    """The repository holding the runs' snapshots (code diffs, commit subjects)."""
    workspace: Workspace | None = None
    """Used to ingest hook events and reap dead runs; tests leave it out."""
    settings_path: Path | None = None
    """The column chooser's JSON file; None keeps choices for this session only."""
    ledger_file: Path | None = None
    """The SQLite file to wait for when there is no ledger yet."""
    clock: Clock = field(default=time.time)
    poll_interval: float = 1.0
    """Seconds between checks for new runs."""
    subjects: SubjectCache = field(default_factory=lambda: SubjectCache())
    """Commit subjects, shared by every screen and kept for the session."""
    prefetch: Prefetch | None = None
    """The runs screen's first window, loaded or loading (`ledger ui` starts it)."""
    open_store: Callable[[], Store] | None = None
    """Opens the ledger when a read or write first needs it: `ledger ui` paints its first
    page through the stdlib (`ledger.read.windows_sqlite`) and imports SQLAlchemy only after."""


class StoreHandle:
    """The ledger, opened once by whichever worker needs it first, then shared."""

    def __init__(self, store: Store | None = None, *, opener: Callable[[], Store] | None = None) -> None:
        self._store = store
        self._opener = opener
        self._lock = threading.Lock()

    @property
    def empty(self) -> bool:
        """No ledger yet: nothing to open."""
        return self._store is None and self._opener is None

    def get(self) -> Store:
        """The open store (opening it blocks the calling worker, never the event loop).

        Raises:
            LedgerError: the ledger cannot be opened.
        """
        with self._lock:
            if self._store is None:
                if self._opener is None:
                    raise LedgerError("no ledger is open")
                self._store = self._opener()
            return self._store

    def close(self) -> None:
        """Close the store's connections, if it was ever opened."""
        with self._lock:
            if self._store is not None:
                self._store.close()


class SubjectCache:
    """Commit subjects by SHA, filled by workers (hence the lock) and never emptied."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, str | None] = {}

    def missing(self, shas: Sequence[str | None]) -> list[str]:
        """SHAs never looked up."""
        with self._lock:
            return sorted({s for s in shas if s and s not in self._known})

    def add(self, looked_up: Sequence[str], found: dict[str, str]) -> None:
        """Remember lookups, including SHAs the repository does not have."""
        with self._lock:
            for sha in looked_up:
                self._known[sha] = found.get(sha)

    def snapshot(self) -> dict[str, str]:
        """The known subjects."""
        with self._lock:
            return {k: v for k, v in self._known.items() if v is not None}
