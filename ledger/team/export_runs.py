"""The runs an export reads: each with its whole record, oldest first, a page at a time.

Both exports read them here: `ledger.team.export` (JSON, CSV) and
`ledger.team.export_mlflow`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ledger.core.filters import parse_sort
from ledger.read import queries
from ledger.store import tables

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ledger.core.chunks import Points
    from ledger.core.filters import Expr
    from ledger.core.lockfile import Environment
    from ledger.core.records import RunDetail
    from ledger.store.engine import Store

PAGE = 200
"""Runs listed per query while exporting (never the whole ledger at once)."""


@dataclass(frozen=True, slots=True)
class ExportedRun:
    """One run with everything an export needs, read before the session closed."""

    detail: RunDetail
    environment: Environment | None
    series: dict[str, Points] = field(default_factory=dict)
    archived: bool = False
    reproduces: dict[str, Any] | None = None
    """The run this one reproduced and the verdict, if it is a reproduction."""
    log_sha256: str | None = None


def iter_runs(store: Store, *, where: Expr | None = None, series: bool = True) -> Iterator[ExportedRun]:
    """Every matching run with its whole record, oldest first, a page at a time."""
    for summary in summaries(store, where=where):
        detail = queries.get_run(store, summary.id)
        env = (
            None
            if detail.environment_digest is None
            else queries.get_environment(store, detail.environment_digest)
        )
        points = {k: queries.get_series(store, summary.id, k) for k in detail.series_keys} if series else {}
        archived, reproduces, log_sha = _extras(store, summary.id)
        yield ExportedRun(detail, env, points, archived, reproduces, log_sha)


def summaries(store: Store, *, where: Expr | None, values: bool = False) -> Iterator[Any]:
    """Summaries oldest first, one page per query."""
    wanted = ["*"] if values else []
    offset = 0
    while True:
        page = queries.list_runs(
            store,
            where=where,
            sort=[parse_sort("started"), parse_sort("id")],
            limit=PAGE,
            offset=offset,
            params=wanted,
            metrics=wanted,
        )
        yield from page
        if len(page) < PAGE:
            return
        offset += PAGE


def _extras(store: Store, run_id: str) -> tuple[bool, dict[str, Any] | None, str | None]:
    """What `RunDetail` leaves out: the archive mark, the reproduction link, the log's digest."""
    with store.reading() as session:
        archived = bool(session.scalar(select(tables.RunRow.archived).where(tables.RunRow.id == run_id)))
        repro = session.get(tables.ReproductionRow, run_id)
        log = session.scalar(select(tables.LogRow.data).where(tables.LogRow.run_id == run_id))
        reproduces = (
            None
            if repro is None
            else {
                "original_id": repro.original_id,
                "matched": repro.matched,
                "verdict": None if repro.verdict is None else json.loads(repro.verdict),
                "created_at": repro.created_at,
            }
        )
    digest = None if log is None else hashlib.sha256(bytes(log)).hexdigest()
    return archived, reproduces, digest
