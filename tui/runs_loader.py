"""Windows of the runs table, loaded off the event loop: query, automatic columns, rows.

Everything here runs in the runs screen's thread workers and returns plain values;
nothing touches a widget.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ledger.core.errors import FilterSyntaxError, LedgerError
from ledger.core.filters import parse_filter
from ledger.git import display
from ledger.read import render, sqlite_snapshot
from ledger.tui.columns import AUTO_KEYS, SPARK_WIDTH, RowContext, column_set, make_row
from ledger.tui.readers import SnapshotReader
from ledger.tui.widgets.runs_table import PAGE

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.core.filters import Expr, SortKey
    from ledger.read.windows_sqlite import ChangeMarker, Page
    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace
    from ledger.tui.columns import ColumnSet
    from ledger.tui.readers import RunReader
    from ledger.tui.services import Clock, SubjectCache
    from ledger.tui.settings import UiSettings
    from ledger.tui.widgets.table_model import Row

AutoColumns = tuple[tuple[str, ...], tuple[str, ...], str | None]
"""Automatically chosen (params, metrics, sparkline series)."""


@dataclass(frozen=True, slots=True)
class Query:
    """Everything a page load needs, frozen when the load starts (workers get a copy)."""

    generation: int
    where: Expr | None
    sort: tuple[SortKey, ...]
    include_archived: bool
    columns: ColumnSet
    settings: UiSettings
    resolve_auto: bool
    """The automatic columns are not chosen yet: fetch every key and choose."""


@dataclass(frozen=True, slots=True)
class Window:
    """Rows [offset, offset + len(rows)) of a query's result, formatted."""

    query: Query
    offset: int
    page: Page
    rows: tuple[Row, ...]
    columns: ColumnSet
    auto: AutoColumns | None = None
    """The automatic columns chosen while loading (first page only)."""
    unknown_subjects: tuple[str, ...] = ()
    """Commits whose subject is not known yet (rows show them without)."""


@dataclass(frozen=True, slots=True)
class RowSource:
    """Where rows come from: the ledger, the repository (commit subjects), the clock."""

    reader: RunReader
    root: Path | None
    clock: Clock
    subjects: SubjectCache

    def window(self, query: Query, *, offset: int, limit: int) -> Window:
        """Load and format one window; the first window of a query may choose its columns."""
        columns = query.columns
        page = self.reader.page(
            where=query.where,
            sort=query.sort,
            offset=offset,
            limit=limit,
            params=["*"] if query.resolve_auto else columns.params,
            metrics=["*"] if query.resolve_auto else columns.metrics,
            include_archived=query.include_archived,
        )
        auto = None
        if query.resolve_auto and page.runs:
            auto = self._auto_columns(page)
            params, metrics, main = auto
            columns = column_set(
                query.settings, auto_params=params, auto_metrics=metrics, main_metric=main,
                where=query.where, sort=query.sort,
            )  # fmt: skip
        window = Window(query, offset, page, (), columns, auto)
        return self.format(window)

    def format(self, window: Window) -> Window:
        """(Re)make the rows with the subjects known now; says which are still unknown."""
        keys = {c.key for c in window.columns.columns}
        runs = window.page.runs
        unknown: list[str] = []
        subjects: dict[str, str] = {}
        if "subject" in keys and self.root is not None:
            unknown = self.subjects.missing([r.commit for r in runs])
            subjects = self.subjects.snapshot()
        sparks = {}
        if "spark" in keys and window.columns.main_metric:
            ids = [r.id for r in runs]
            sparks = self.reader.sparklines(ids, window.columns.main_metric, width=SPARK_WIDTH)
        ctx = RowContext(now=self.clock(), subjects=subjects, sparks=sparks, archived=window.page.archived)
        rows = tuple(make_row(run, window.columns.columns, ctx) for run in runs)
        return replace(window, rows=rows, unknown_subjects=tuple(unknown))

    def with_subjects(self, window: Window) -> Window | None:
        """Look the unknown commit subjects up (git); the re-made rows, or None if none was found."""
        if not window.unknown_subjects:
            return None
        found = display.commit_subjects(self.root, window.unknown_subjects)
        self.subjects.add(window.unknown_subjects, found)
        return self.format(window) if found else None

    def count(self, query: Query) -> tuple[int, int | None]:
        """Runs the query matches, and (only when none) how many the ledger holds at all."""
        total = self.reader.count_matching(where=query.where, include_archived=query.include_archived)
        return total, self.reader.count_all() if total == 0 else None

    def _auto_columns(self, page: Page) -> AutoColumns:
        """As `ledger list` does: metrics most runs have, params that differ; the series most log."""
        metrics, params = render.common_keys(page.runs, limit=AUTO_KEYS)
        counts = self.reader.series_counts([r.id for r in page.runs])
        main = min(counts, key=lambda k: (-counts[k], k)) if counts else None
        return tuple(params), tuple(metrics), main


def housekeeping(ws: Workspace, store: Store) -> None:
    """Take in what git hooks left and mark dead runs crashed, as every CLI read does."""
    from ledger.commits.ingest import has_pending, ingest_pending
    from ledger.delivery.liveness import reap_dead_runs

    try:
        if has_pending(ws):
            ingest_pending(ws, store, wait=0.0)
        reap_dead_runs(store, ws.spool_dir)
    except (LedgerError, OSError):
        return  # busy or read-only: the next round retries, the table still works


def first_query(settings: UiSettings, filter_text: str) -> Query:
    """The query the runs screen opens with (a filter that does not parse filters nothing)."""
    try:
        where = parse_filter(filter_text)
    except FilterSyntaxError:
        where = None
    resolve = settings.params is None or settings.metrics is None or settings.main_metric is None
    return Query(1, where, (), False, column_set(settings, where=where), settings, resolve)


@dataclass(frozen=True, slots=True)
class Prefetched:
    """The first window of a query, the ledger's marker read before it (or in its snapshot), maybe its count."""

    window: Window
    marker: ChangeMarker
    """The polls' baseline: a run that lands after this still reloads the table."""
    count: tuple[int, int | None] | None = None


def read_first(ws: Workspace, query: Query, source: RowSource) -> Prefetched | None:
    """The first window and count straight from the SQLite file, before SQLAlchemy is imported.

    None when the store must be opened first: a write is due (hook events, a dead or
    handed-over run), the ledger is no plain SQLite file, or it cannot be read here.
    """
    if query.include_archived:
        return None
    try:
        with sqlite_snapshot.snapshot(ws) as conn:
            if conn is None:
                return None
            reader = SnapshotReader(conn)
            fast = replace(source, reader=reader)
            return Prefetched(fast.window(query, offset=0, limit=PAGE), reader.marker(), fast.count(query))
    except sqlite3.Error:
        return None


class Prefetch:
    """The first window, read before the app started or loading in a thread while it starts.

    Launching spends its time importing and setting up the terminal; the first page's
    query overlaps with that instead of following it.
    """

    def __init__(
        self, query: Query, *, ready: Prefetched | None = None, source: RowSource | None = None
    ) -> None:
        self.query = query
        self._result = ready
        self._taken = False
        self._thread: threading.Thread | None = None
        if ready is None and source is not None:
            self._thread = threading.Thread(
                target=self._run, args=(source,), name="ledger-prefetch", daemon=True
            )
            self._thread.start()

    def _run(self, source: RowSource) -> None:
        try:
            marker = source.reader.marker()
            self._result = Prefetched(source.window(self.query, offset=0, limit=PAGE), marker)
        except LedgerError:
            self._result = None  # the screen's own worker queries again and reports it

    def take(self, query: Query) -> Prefetched | None:
        """The prefetched window if it answers `query` (once); None otherwise."""
        if self._taken or query != self.query:
            return None
        self._taken = True
        if self._thread is not None:
            self._thread.join()
        return self._result
