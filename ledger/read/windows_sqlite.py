"""The runs table's reads as SQL text, run through the standard library's sqlite3 for `ledger ui`'s
first page and through SQLAlchemy by `ledger.read.windows`, and the records both return.

`ledger ui` paints its first page from these: importing SQLAlchemy and the models
costs far more than the first page's queries take. The SQL is `ledger.read.listing`'s,
the text `ledger.read.windows` runs through SQLAlchemy, so a page here holds the
runs `windows.list_page` would, in the same order. The rest of the session reads
through SQLAlchemy, opened once the first page is on screen.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.core import chunks
from ledger.read import listing
from ledger.read.sql_dialect import SQLITE

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable, Sequence

    from ledger.core.filters import Expr, SortKey
    from ledger.core.summary import RunSummary
    from ledger.read.listing import Execute
    from ledger.read.sql_dialect import Dialect


@dataclass(frozen=True, slots=True)
class ChangeMarker:
    """A cheap fingerprint of the ledger: when it changes, the runs table reloads.

    Every part is an indexed read: the row count, the newest start time, and the
    running runs with their heartbeats (a run finishing leaves that set, a run
    logging metrics moves its heartbeat).
    """

    count: int
    newest: float | None
    running: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True, slots=True)
class Page:
    """One window of matching runs, in display order."""

    offset: int
    runs: tuple[RunSummary, ...]
    archived: frozenset[str]
    """IDs of the runs in this window that are archived (shown only when asked)."""


def change_marker(execute: Execute, dialect: Dialect = SQLITE) -> ChangeMarker:
    """The ledger's fingerprint (see `ChangeMarker`); meant to be polled every second.

    On the first page's sqlite3 transaction, the table's first poll then reloads for
    any run that landed after that page was read."""
    ((count, newest),) = list(execute("SELECT count(*), max(started_at) FROM runs", []))
    running = execute("SELECT id, heartbeat_at FROM runs WHERE status = 'running' ORDER BY id", [])
    return ChangeMarker(count=int(count), newest=newest, running=tuple((r, h) for r, h in running))


def first_page(
    conn: sqlite3.Connection,
    *,
    where: Expr | None,
    sort: Sequence[SortKey],
    limit: int,
    params: Sequence[str],
    metrics: Sequence[str],
) -> Page:
    """The first `limit` unarchived runs, as `windows.list_page(offset=0)` gives them."""
    runs, _ = listing.read_page(
        conn.execute,
        SQLITE,
        where=where,
        sort=sort,
        limit=limit,
        params=params,
        metrics=metrics,
        include_archived=False,
    )
    return Page(offset=0, runs=tuple(runs), archived=frozenset())


def count_matching(conn: sqlite3.Connection, *, where: Expr | None) -> int:
    """How many unarchived runs match, as `windows.count_matching`."""
    sql, args = listing.count_sql(where, SQLITE, include_archived=False)
    return int(conn.execute(sql, args).fetchone()[0])


def count_all(conn: sqlite3.Connection) -> int:
    """Every run of the ledger, archived or not."""
    return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])


def sparklines(
    execute: Execute, run_ids: Sequence[str], key: str, *, width: int, dialect: Dialect = SQLITE
) -> dict[str, tuple[float, ...]]:
    """Each run's series `key` squeezed into `width` bucket means (runs without it are left out)."""
    if not run_ids:
        return {}
    rows = execute(
        "SELECT series.run_id, metric_chunks.codec, metric_chunks.payload, metric_chunks.count "  # noqa: S608
        "FROM series JOIN metric_chunks ON metric_chunks.series_id = series.id "
        f"WHERE series.run_id {dialect.in_ids} AND series.key = {dialect.placeholder} "
        "ORDER BY series.run_id, metric_chunks.id",
        [dialect.id_list(run_ids), key],
    )
    return squeeze(rows, width)


def series_counts(execute: Execute, run_ids: Sequence[str], dialect: Dialect = SQLITE) -> Counter[str]:
    """How many of these runs log each series (to pick a default sparkline metric)."""
    if not run_ids:
        return Counter()
    rows = execute(
        f"SELECT key, count(*) FROM series WHERE run_id {dialect.in_ids} GROUP BY key",  # noqa: S608
        [dialect.id_list(run_ids)],
    )
    return Counter({key: int(n) for key, n in rows})


def squeeze(rows: Iterable[Sequence[Any]], width: int) -> dict[str, tuple[float, ...]]:
    """(run ID, codec, payload, count) chunk rows, in write order per run, to sparklines."""
    parts: dict[str, list[chunks.Points]] = {}
    for run_id, codec, payload, count in rows:
        try:
            parts.setdefault(run_id, []).append(chunks.decode(codec, payload, count))
        except (ValueError, zlib.error):
            continue  # an unreadable chunk costs the sparkline a few points, not the table
    return {run_id: downsample(list(chunks.merge(p).values), width) for run_id, p in parts.items()}


def downsample(values: Sequence[float], width: int) -> tuple[float, ...]:
    """At most `width` values: bucket means, NaN-aware (an all-NaN bucket stays NaN)."""
    if width <= 0 or not values:
        return ()
    if len(values) <= width:
        return tuple(values)
    out = []
    for i in range(width):
        bucket = [v for v in values[i * len(values) // width : (i + 1) * len(values) // width] if v == v]
        out.append(sum(bucket) / len(bucket) if bucket else float("nan"))
    return tuple(out)
