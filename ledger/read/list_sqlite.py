"""`ledger list` on a SQLite ledger through the standard library's sqlite3.

The query of a listing takes SQLite 2-4 ms even over 100,000 runs; importing
SQLAlchemy and the models to build it takes 0.35-0.6 s on the machines we measure
(issue 2: a whole `ledger list` in under 0.5 s; issue 7: ten times faster than
`dvc exp show`). So a read-only listing runs the SQL `ledger.read.sql_text` writes (the
same `ledger.read.sql_orm` has SQLAlchemy build) inside one read transaction.

Anything that needs a write before reading (hook events to ingest, a handed-over
run to settle, a dead run to mark crashed, a schema to upgrade) or any error returns
None: the caller takes the full path, which does the writes and reports errors.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from typing import TYPE_CHECKING, Any

from ledger.commits import inbox
from ledger.core.ids import RunId, shortest_prefixes
from ledger.core.param_values import from_row
from ledger.core.procinfo import owners_gone
from ledger.core.summary import RunSummary
from ledger.core.urls import sqlite_file
from ledger.delivery import handover
from ledger.read import sql_text as fast_sql
from ledger.store.schema import BUSY_TIMEOUT_MS, SCHEMA_HEAD

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ledger.core.filters import Expr, SortKey
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
            sql, args = fast_sql.page_sql(where, sort, limit, include_archived=include_archived)
            return summaries(conn, sql, args, params=params, metrics=metrics)
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


def summaries(
    conn: sqlite3.Connection, sql: str, args: list[object], *, params: Sequence[str], metrics: Sequence[str]
) -> list[RunSummary]:
    """The runs a `fast_sql.page_sql` statement selects, with their tags and the asked-for values."""
    rows = conn.execute(sql, args).fetchall()
    ids = json.dumps([r[0] for r in rows])
    tags = _tags(conn, ids)
    found_params = _values(conn, "SELECT run_id, key, kind, text FROM params", ids, params)
    found_metrics = _values(conn, "SELECT run_id, key, value FROM metrics", ids, metrics)
    shorts = _short_ids(conn, [r[0] for r in rows], ids)
    return [
        RunSummary(
            id=RunId(run_id),
            short_id=shorts[run_id],
            name=name,
            status=status,
            source=source,
            started_at=started_at,
            ended_at=ended_at,
            exit_code=exit_code,
            commit=commit,
            branch=branch,
            dirty=None if dirty is None else bool(dirty),
            tags=tags.get(run_id, ()),
            params={k: from_row(kind, text) for k, kind, text in found_params.get(run_id, ())},
            metrics={k: math.nan if v is None else v for k, v in found_metrics.get(run_id, ())},
        )
        for run_id, name, status, source, started_at, ended_at, exit_code, commit, branch, dirty in rows
    ]


def _tags(conn: sqlite3.Connection, ids: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    sql = f"SELECT run_id, tag FROM tags WHERE run_id {fast_sql.IN_IDS} ORDER BY tag"  # noqa: S608
    for run_id, tag in conn.execute(sql, [ids]):
        found.setdefault(run_id, []).append(tag)
    return {k: tuple(v) for k, v in found.items()}


def _values(
    conn: sqlite3.Connection, select: str, ids: str, keys: Sequence[str]
) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of params or metrics of the page, by run: every key (`"*"`) or the named ones."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    if not keys:
        return found
    sql, args = f"{select} WHERE run_id {fast_sql.IN_IDS}", [ids]
    if "*" not in keys:
        sql += f" AND key {fast_sql.IN_IDS}"
        args.append(json.dumps(list(keys)))
    for run_id, *rest in conn.execute(sql + " ORDER BY key", args):
        found.setdefault(run_id, []).append(tuple(rest))
    return found


def _short_ids(conn: sqlite3.Connection, order: list[str], ids: str) -> dict[str, str]:
    sql = (
        "SELECT runs.id, (SELECT max(o.id) FROM runs AS o WHERE o.id < runs.id), "  # noqa: S608
        f"(SELECT min(o.id) FROM runs AS o WHERE o.id > runs.id) FROM runs WHERE runs.id {fast_sql.IN_IDS}"
    )
    neighbours = {run_id: (prev, nxt) for run_id, prev, nxt in conn.execute(sql, [ids])}
    return shortest_prefixes(order, neighbours)


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
