"""Reads the terminal UI needs on top of `ledger.read.queries`: windows of runs, change polling,
sparklines, key discovery, reproductions and a run's log.

Everything returns plain records; nothing here imports textual. The git side (commit
subjects, a snapshot's patch) is in `ledger.git.display`.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import false, func, select

from ledger.core.filters import Compare, Field, Or
from ledger.core.verdict import ReproductionLink
from ledger.read import queries
from ledger.read.sql_orm import compile_filter, order_runs
from ledger.read.windows_sqlite import ChangeMarker, Page, squeeze
from ledger.store import tables

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import InstrumentedAttribute, Session

    from ledger.core.filters import Expr, SortKey
    from ledger.core.ids import RunId
    from ledger.core.summary import RunSummary
    from ledger.store.engine import Store


@dataclass(frozen=True, slots=True)
class KeyCatalog:
    """The distinct keys the ledger holds, for the column chooser."""

    params: tuple[str, ...]
    metrics: tuple[str, ...]
    series: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LogText:
    """A run's captured output, or why it cannot be shown."""

    text: str | None
    problem: str | None = None


def change_marker(store: Store) -> ChangeMarker:
    """The ledger's fingerprint (see `ChangeMarker`); meant to be polled every second."""
    with store.reading() as session:
        count = int(session.scalar(select(func.count()).select_from(tables.RunRow)) or 0)
        newest = session.scalar(select(func.max(tables.RunRow.started_at)))
        running = session.execute(
            select(tables.RunRow.id, tables.RunRow.heartbeat_at)
            .where(tables.RunRow.status == "running")
            .order_by(tables.RunRow.id)
        ).all()
    return ChangeMarker(count=count, newest=newest, running=tuple((r, h) for r, h in running))


def list_page(
    store: Store,
    *,
    where: Expr | None = None,
    sort: Sequence[SortKey] = (),
    offset: int = 0,
    limit: int = 100,
    params: Sequence[str] = (),
    metrics: Sequence[str] = (),
    include_archived: bool = False,
) -> Page:
    """One window of runs in the order `ledger list` uses, archived runs left out unless asked.

    The window's IDs are chosen here (the archive flag is not part of the filter
    language); their summaries then come from `queries.list_runs`, so both views
    describe a run identically.
    """
    stmt = select(tables.RunRow.id, tables.RunRow.archived)
    if not include_archived:
        stmt = stmt.where(tables.RunRow.archived.is_(false()))
    if where is not None:
        stmt = stmt.where(compile_filter(where))
    stmt = order_runs(stmt, sort, where=where).offset(offset).limit(limit)
    with store.reading() as session:
        rows = session.execute(stmt).all()
    ids = [run_id for run_id, _ in rows]
    if not ids:
        return Page(offset=offset, runs=(), archived=frozenset())
    by_id: dict[str, RunSummary] = {
        run.id: run
        for run in queries.list_runs(
            store, where=_ids_filter(ids), limit=None, params=params, metrics=metrics
        )
    }
    return Page(
        offset=offset,
        runs=tuple(by_id[i] for i in ids if i in by_id),
        archived=frozenset(run_id for run_id, archived in rows if archived),
    )


def count_matching(store: Store, *, where: Expr | None = None, include_archived: bool = False) -> int:
    """How many runs `list_page` can page through."""
    stmt = select(func.count()).select_from(tables.RunRow)
    if not include_archived:
        stmt = stmt.where(tables.RunRow.archived.is_(false()))
    if where is not None:
        stmt = stmt.where(compile_filter(where))
    with store.reading() as session:
        return int(session.scalar(stmt) or 0)


def sparklines(store: Store, run_ids: Sequence[str], key: str, *, width: int) -> dict[str, tuple[float, ...]]:
    """Each run's series `key` squeezed into `width` bucket means (runs without it are left out)."""
    if not run_ids:
        return {}
    with store.reading() as session:
        rows = session.execute(
            select(
                tables.SeriesRow.run_id,
                tables.MetricChunkRow.codec,
                tables.MetricChunkRow.payload,
                tables.MetricChunkRow.count,
            )
            .join(tables.MetricChunkRow, tables.MetricChunkRow.series_id == tables.SeriesRow.id)
            .where(tables.SeriesRow.run_id.in_(list(run_ids)), tables.SeriesRow.key == key)
            .order_by(tables.SeriesRow.run_id, tables.MetricChunkRow.id)
        ).all()
    return squeeze(rows, width)


def series_counts(store: Store, run_ids: Sequence[str]) -> Counter[str]:
    """How many of these runs log each series (to pick a default sparkline metric)."""
    if not run_ids:
        return Counter()
    with store.reading() as session:
        rows = session.execute(
            select(tables.SeriesRow.key, func.count())
            .where(tables.SeriesRow.run_id.in_(list(run_ids)))
            .group_by(tables.SeriesRow.key)
        ).all()
    return Counter({key: int(n) for key, n in rows})


def key_catalog(store: Store, *, limit: int = 500) -> KeyCatalog:
    """Distinct param, metric and series keys, at most `limit` of each, sorted.

    Params and metrics are walked key by key along their (key, value) indexes, a
    loose index scan: a ledger of millions of values answers in milliseconds.
    """
    with store.reading() as session:
        params = _distinct(session, tables.ParamRow.key, limit)
        metrics = _distinct(session, tables.MetricRow.key, limit)
        series = session.scalars(
            select(tables.SeriesRow.key).distinct().order_by(tables.SeriesRow.key).limit(limit)
        ).all()
    return KeyCatalog(params=params, metrics=metrics, series=tuple(series))


def reproductions(store: Store, run_id: RunId) -> tuple[ReproductionLink, ...]:
    """Reproductions of this run, and the one it is, oldest first."""
    r = tables.ReproductionRow
    with store.reading() as session:
        rows = session.execute(
            select(r.run_id, r.original_id, r.matched, r.created_at)
            .where((r.run_id == run_id) | (r.original_id == run_id))
            .order_by(r.created_at)
        ).all()
    return tuple(
        ReproductionLink(run_id=a, original_id=b, matched=matched, created_at=created)
        for a, b, matched, created in rows
    )


def read_log(store: Store, run_id: RunId) -> LogText:
    """The run's output; a damaged log becomes a `problem`, never an exception."""
    try:
        text = queries.get_log(store, run_id)
    except (zlib.error, ValueError) as e:
        return LogText(None, problem=f"the stored log cannot be read ({e}); see `ledger doctor`")
    if text is None:
        return LogText(None, problem="this run has no captured output")
    return LogText(text)


def _ids_filter(ids: Sequence[str]) -> Expr:
    field = Field("run", "id")
    return (
        Or(tuple(Compare(field, "=", run_id) for run_id in ids))
        if len(ids) > 1
        else Compare(field, "=", ids[0])
    )


def _distinct(session: Session, column: InstrumentedAttribute[str], limit: int) -> tuple[str, ...]:
    found: list[str] = []
    last = session.scalar(select(func.min(column)))
    while last is not None and len(found) < limit:
        found.append(last)
        last = session.scalar(select(func.min(column)).where(column > last))
    return tuple(found)
