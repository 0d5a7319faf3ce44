"""The runs table's reads through the standard library's sqlite3, and the records they share
with `ledger.read.windows`.

`ledger ui` paints its first page from these: importing SQLAlchemy and the models
costs 0.3-0.6 s on the machines we measure, while the first page's queries take a
few milliseconds (issue 4: first paint under 1 s over 100,000 runs). The SQL is
`ledger.read.sql_text`'s, as for `ledger list`'s stdlib path, so a page here
holds the runs `ui_queries.list_page` would, in the same order;
`tests/integration/test_ui_fast.py` compares the two. The rest of the session
reads through SQLAlchemy, opened once the first page is on screen.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.core import chunks
from ledger.read import list_sqlite
from ledger.read import sql_text as fast_sql

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence

    from ledger.core.filters import Expr, SortKey
    from ledger.core.summary import RunSummary


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


def change_marker(conn: sqlite3.Connection) -> ChangeMarker:
    """As `ui_queries.change_marker`, read in the first page's transaction: the table's
    first poll then reloads for any run that landed after that page was read."""
    count, newest = conn.execute("SELECT count(*), max(started_at) FROM runs").fetchone()
    running = conn.execute(
        "SELECT id, heartbeat_at FROM runs WHERE status = 'running' ORDER BY id"
    ).fetchall()
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
    """The first `limit` unarchived runs, as `ui_queries.list_page(offset=0)` gives them."""
    sql, args = fast_sql.page_sql(where, sort, limit, include_archived=False)
    runs = list_sqlite.summaries(conn, sql, args, params=params, metrics=metrics)
    return Page(offset=0, runs=tuple(runs), archived=frozenset())


def count_matching(conn: sqlite3.Connection, *, where: Expr | None) -> int:
    """How many unarchived runs match, as `ui_queries.count_matching`."""
    sql, args = fast_sql.count_sql(where, include_archived=False)
    return int(conn.execute(sql, args).fetchone()[0])


def count_all(conn: sqlite3.Connection) -> int:
    """Every run of the ledger, archived or not."""
    return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])


def sparklines(
    conn: sqlite3.Connection, run_ids: Sequence[str], key: str, *, width: int
) -> dict[str, tuple[float, ...]]:
    """As `ui_queries.sparklines`: each run's series `key` squeezed into `width` bucket means."""
    rows = conn.execute(
        "SELECT series.run_id, metric_chunks.codec, metric_chunks.payload, metric_chunks.count "  # noqa: S608
        "FROM series JOIN metric_chunks ON metric_chunks.series_id = series.id "
        f"WHERE series.run_id {fast_sql.IN_IDS} AND series.key = ? "
        "ORDER BY series.run_id, metric_chunks.id",
        [json.dumps(list(run_ids)), key],
    )
    return squeeze(rows, width)


def series_counts(conn: sqlite3.Connection, run_ids: Sequence[str]) -> Counter[str]:
    """As `ui_queries.series_counts`: how many of these runs log each series."""
    rows = conn.execute(
        f"SELECT key, count(*) FROM series WHERE run_id {fast_sql.IN_IDS} GROUP BY key",  # noqa: S608
        [json.dumps(list(run_ids))],
    )
    return Counter({key: int(n) for key, n in rows})


def squeeze(
    rows: Sequence[tuple[str, str, bytes, int]] | sqlite3.Cursor, width: int
) -> dict[str, tuple[float, ...]]:
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
