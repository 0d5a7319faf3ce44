"""`ledger list` and the UI's first page on a SQLite ledger, through the standard library's sqlite3.

The query of a listing takes SQLite milliseconds even over a large ledger; importing
SQLAlchemy and the models costs most of the command's time. So a read-only listing runs `ledger.read.listing`'s SQL, the very text the
SQLAlchemy path runs, on sqlite3 inside one read transaction.

Anything that needs a write before reading (hook events to ingest, a handed-over
run to settle, a dead run to mark crashed, a schema to upgrade) or any error returns
None: the caller takes the full path, which does the writes and reports errors.
"""

from __future__ import annotations

import contextlib
import sqlite3
from typing import TYPE_CHECKING

from ledger.commits import inbox
from ledger.core.procinfo import owners_gone
from ledger.core.urls import sqlite_file
from ledger.delivery import handover
from ledger.read import listing
from ledger.read.sql_dialect import SQLITE
from ledger.store.schema import BUSY_TIMEOUT_MS, SCHEMA_HEAD

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ledger.core.filters import Expr, SortKey
    from ledger.core.summary import RunSummary
    from ledger.store.workspace import Workspace


def list_runs(
    ws: Workspace,
    *,
    where: Expr | None,
    sort: Sequence[SortKey],
    limit: int | None,
    params: Sequence[str],
    metrics: Sequence[str],
    include_archived: bool,
) -> list[RunSummary] | None:
    """What `ledger.read.queries.list_runs` returns, or None when the full path must run."""
    try:
        with snapshot(ws) as conn:
            if conn is None:
                return None
            runs, _ = listing.read_page(
                conn.execute,
                SQLITE,
                where=where,
                sort=sort,
                limit=limit,
                params=params,
                metrics=metrics,
                include_archived=include_archived,
            )
            return runs
    except sqlite3.Error:
        return None


@contextlib.contextmanager
def snapshot(ws: Workspace) -> Iterator[sqlite3.Connection | None]:
    """A read transaction on the ledger file; None when a write is due first or it is no file.

    Raises:
        sqlite3.Error: the file cannot be read (the caller takes the full path).
    """
    path = sqlite_file(ws.url)
    if (
        path is None
        or not path.is_file()
        or (ws.repo is not None and inbox.has_events(ws.repo.common_dir))
        or handover.waiting(ws.spool_dir)
    ):
        yield None
        return
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("BEGIN")
        yield conn if _current(conn) else None
    finally:
        conn.close()


def _current(conn: sqlite3.Connection) -> bool:
    """Whether the schema is this version's and no run needs marking crashed first."""
    try:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or (None,)
    except sqlite3.OperationalError:
        return False  # no such table: a new ledger, which the full path creates
    if version != SCHEMA_HEAD:
        return False
    running = conn.execute(
        "SELECT id, host, pid, pid_start, heartbeat_at FROM runs WHERE status = 'running'"
    ).fetchall()
    return not owners_gone(running)
