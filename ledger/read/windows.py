"""Reads the terminal UI needs on top of `ledger.read.queries`: windows of runs, change polling,
sparklines, key discovery, reproductions and a run's log.

Everything returns plain records; nothing here imports textual. The git side (commit
subjects, a snapshot's patch) is in `ledger.git.display`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from ledger.core.verdict import ReproductionLink
from ledger.read import listing, queries, windows_sqlite
from ledger.read.sql_dialect import dialect_named
from ledger.read.windows_sqlite import ChangeMarker, Page
from ledger.store import tables

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Sequence

    from sqlalchemy.orm import InstrumentedAttribute, Session

    from ledger.core.filters import Expr, SortKey
    from ledger.core.ids import RunId
    from ledger.read.sql_dialect import Dialect
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
    with store.reading_core() as conn:
        return windows_sqlite.change_marker(queries.driver_sql(conn), _dialect(store))


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
    """One window of runs in the order `ledger list` uses, archived runs left out unless asked."""
    with store.reading_core() as conn:
        runs, archived = listing.read_page(
            queries.driver_sql(conn),
            _dialect(store),
            where=where,
            sort=sort,
            limit=limit,
            offset=offset,
            params=params,
            metrics=metrics,
            include_archived=include_archived,
        )
    return Page(offset=offset, runs=tuple(runs), archived=archived)


def count_matching(store: Store, *, where: Expr | None = None, include_archived: bool = False) -> int:
    """How many runs `list_page` can page through."""
    return queries.count_runs(store, where=where, include_archived=include_archived)


def sparklines(store: Store, run_ids: Sequence[str], key: str, *, width: int) -> dict[str, tuple[float, ...]]:
    """Each run's series `key` squeezed into `width` bucket means (runs without it are left out)."""
    with store.reading_core() as conn:
        return windows_sqlite.sparklines(
            queries.driver_sql(conn), run_ids, key, width=width, dialect=_dialect(store)
        )


def series_counts(store: Store, run_ids: Sequence[str]) -> Counter[str]:
    """How many of these runs log each series (to pick a default sparkline metric)."""
    with store.reading_core() as conn:
        return windows_sqlite.series_counts(queries.driver_sql(conn), run_ids, _dialect(store))


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


def _dialect(store: Store) -> Dialect:
    return dialect_named(store.engine.dialect.name)


def _distinct(session: Session, column: InstrumentedAttribute[str], limit: int) -> tuple[str, ...]:
    found: list[str] = []
    last = session.scalar(select(func.min(column)))
    while last is not None and len(found) < limit:
        found.append(last)
        last = session.scalar(select(func.min(column)).where(column > last))
    return tuple(found)
