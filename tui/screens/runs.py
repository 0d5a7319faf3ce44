"""The runs screen: a paged table of runs with a live filter, sorting, marks and actions."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState, get_current_worker

from ledger.core.errors import FilterSyntaxError
from ledger.core.filters import SortKey, parse_filter
from ledger.core.ids import RunId
from ledger.tui import runs_loader
from ledger.tui.columns import ColumnSet, column_set
from ledger.tui.messages import ColumnsResolved, CountLoaded, LedgerPolled, PageLoaded
from ledger.tui.readers import StoreReader
from ledger.tui.runs_loader import Query, RowSource
from ledger.tui.runs_status import empty_text, status_line
from ledger.tui.screens.runs_choices import RunsChoicesScreen
from ledger.tui.settings import UiSettings, load_settings
from ledger.tui.type_ahead import open_box
from ledger.tui.widgets.filter_bar import FilterBar
from ledger.tui.widgets.runs_table import PAGE, RunsTable

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from ledger.core.filters import Expr
    from ledger.read.windows_sqlite import ChangeMarker
    from ledger.tui.runs_loader import Window

AGES_EVERY = 60
"""Polls between reloads that only refresh the age column."""
HOUSEKEEPING_EVERY = 15
"""Polls between ingesting hook events and marking dead runs as crashed."""


class RunsScreen(RunsChoicesScreen):
    """Browse runs: filter, sort, mark, open, diff, and act on them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", priority=True),
        Binding("d", "diff", "Diff marked"),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse sort", show=False),
        Binding("c", "columns", "Columns"),
        Binding("t", "tag", "Tag"),
        Binding("n", "note", "Note"),
        Binding("a", "archive", "Archive"),
        Binding("A", "toggle_archived", "Show archived", show=False),
        Binding("D,delete", "delete", "Delete", show=False),
        Binding("y", "copy_id", "Copy ID"),
        Binding("r", "reproduce", "Reproduce"),
        Binding("u", "unmark", "Unmark all", show=False),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ]

    def __init__(self, initial_filter: str = "") -> None:
        super().__init__(id="runs-screen")
        self.initial_filter = initial_filter
        self.where: Expr | None = None
        self.sort: tuple[SortKey, ...] = ()
        self.include_archived = False
        self.settings = UiSettings()
        self.auto: tuple[tuple[str, ...], tuple[str, ...], str | None] | None = None
        self.generation = 0
        self.query_state: Query | None = None
        self.total: int | None = None
        self.ledger_total: int | None = None
        self.marker: ChangeMarker | None = None
        self._keep_position = False
        self._polls = 0
        self._archived_ids: set[str] = set()
        self.shown_generation = 0
        """The query whose first page the table shows (lags `generation` while one loads)."""
        self._had_target = False

    def compose(self) -> ComposeResult:
        """Filter box, table (or the empty-state message), status line, footer."""
        yield FilterBar(self.initial_filter, id="filter-bar")
        with Vertical(id="runs-body"):
            yield RunsTable(id="runs-table")
            yield Static("", id="runs-empty")
        yield Static("", id="runs-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Load settings, run the first query, start polling."""
        self.settings = load_settings(self.app.services.settings_path)
        for problem in self.settings.problems:
            self.notify(problem, severity="warning", timeout=8)
        try:
            self.where = parse_filter(self.initial_filter)
        except FilterSyntaxError:
            self.where = None  # the filter bar shows the error
        self.table.focus()
        self._new_query()
        self.set_interval(self.app.services.poll_interval, self._poll)

    # -- target runs for the shared actions -------------------------------------------

    def current_id(self) -> RunId | None:
        """The highlighted run."""
        key = self.table.cursor_key
        return None if key is None else RunId(key)

    def target_ids(self) -> list[RunId]:
        """Marked runs, else the highlighted one."""
        marked = self.table.marked
        if marked:
            return [RunId(k) for k in marked]
        return super().target_ids()

    def all_archived(self, ids: list[RunId]) -> bool:
        """Archive restores when every target is archived (visible with A)."""
        return bool(ids) and all(i in self._archived_ids for i in ids)

    def runs_changed(self, *, deleted: tuple[str, ...] = ()) -> None:
        """Runs were edited: reload in place (deleted runs lose their marks)."""
        if deleted:
            self.table.unmark(deleted)
        self._new_query(keep_position=True)

    # -- queries ---------------------------------------------------------------------

    def _new_query(self, *, keep_position: bool = False) -> None:
        self.generation += 1
        if not keep_position:
            self.total = self.ledger_total = None  # "counting runs…" until this query's count
        params, metrics, main = self.auto or ((), (), None)
        columns = column_set(
            self.settings,
            auto_params=params,
            auto_metrics=metrics,
            main_metric=main,
            where=self.where,
            sort=self.sort,
        )
        resolve = self.auto is None and (
            self.settings.params is None or self.settings.metrics is None or self.settings.main_metric is None
        )
        self.query_state = Query(
            self.generation, self.where, self.sort, self.include_archived, columns, self.settings, resolve
        )
        self._show_columns(columns)
        self._keep_position = keep_position
        self._load_first(self.query_state, self._source())

    def _show_columns(self, columns: ColumnSet) -> None:
        table = self.table
        table.columns = columns.columns
        sort = self.sort[0] if self.sort else None
        table.sort_key = None if sort is None else columns.column_for(sort)
        table.sort_descending = bool(sort and sort.descending)

    def _source(self) -> RowSource:
        services = self.app.services
        return RowSource(StoreReader(self.app.ledger), services.root, services.clock, self.app.subjects)

    @work(thread=True, exclusive=True, group="query", exit_on_error=False)
    def _load_first(self, query: Query, source: RowSource) -> None:
        prefetch = self.app.services.prefetch
        ready = None if prefetch is None else prefetch.take(query)
        if ready is None:
            # The polls' baseline, read before the page: a run landing in between reloads.
            baseline = source.reader.marker() if self.marker is None else None
            window = source.window(query, offset=0, limit=PAGE)
        else:
            baseline, window = ready.marker, ready.window
        if baseline is not None:
            self.post_message(LedgerPolled(baseline))
        if _cancelled():
            return
        if window.auto is not None:
            self.post_message(ColumnsResolved(query.generation, *window.auto))
        complete = len(window.rows) < PAGE
        self.post_message(_loaded(window, first=True, complete=complete))
        # A newer query (the next keystroke) cancels this worker but cannot stop its SQL:
        # what is left (a git call, a full count) is skipped so it does not compete.
        if _cancelled():
            return
        self._fill_subjects(source, window)
        if _cancelled():
            return
        if complete and window.rows:
            total, everything = len(window.rows), None
        elif ready is not None and ready.count is not None:
            total, everything = ready.count
        else:
            total, everything = source.count(query)
        if not _cancelled():
            self.post_message(CountLoaded(query.generation, total, everything))

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def _load_page(self, query: Query, source: RowSource, offset: int, limit: int) -> None:
        window = source.window(query, offset=offset, limit=limit)
        if not _cancelled():
            self.post_message(_loaded(window, first=False, complete=len(window.rows) < limit))
            self._fill_subjects(source, window)

    def _fill_subjects(self, source: RowSource, window: Window) -> None:
        """Rows go up first; commit subjects (a git call) follow as an update of the same rows."""
        updated = source.with_subjects(window)
        if updated is not None and not _cancelled():
            self.post_message(_loaded(updated, first=False, complete=False))

    # -- query results ------------------------------------------------------------------

    def on_columns_resolved(self, message: ColumnsResolved) -> None:
        """The automatic columns are chosen: show them."""
        if message.generation != self.generation or self.query_state is None:
            return
        self.auto = (message.params, message.metrics, message.main_metric)
        columns = column_set(
            self.settings, auto_params=message.params, auto_metrics=message.metrics,
            main_metric=message.main_metric, where=self.where, sort=self.sort,
        )  # fmt: skip
        self.query_state = replace(self.query_state, columns=columns, resolve_auto=False)
        self._show_columns(columns)

    def on_page_loaded(self, message: PageLoaded) -> None:
        """Rows arrived: the first page starts the table over, others fill it in."""
        if message.generation != self.generation:
            return
        table = self.table
        if message.first:
            if not self.shown_generation:
                self.call_after_refresh(self._prewarm)
            self.shown_generation = message.generation
            self._archived_ids = set(message.archived)
            total = len(message.rows) if message.complete else max(len(message.rows), self.total or 0)
            table.reset(total, message.rows, keep_position=self._keep_position)
        else:
            self._archived_ids.update(message.archived)
            table.add_rows(message.offset, message.rows)
        self._show_state()

    @work(thread=True, exclusive=True, group="prewarm", exit_on_error=False)
    def _prewarm(self) -> None:
        """Open the ledger and import the detail and diff screens while the user reads the table.

        `ledger ui` paints its first page before SQLAlchemy is imported; done here, the
        import, the ORM's set-up and the first compiled queries cost the first keystroke
        or Enter nothing.
        """
        from ledger.read import windows as ui_queries

        self.post_message(LedgerPolled(ui_queries.change_marker(self.store)))
        import ledger.tui.screens.detail
        import ledger.tui.screens.diff  # noqa: F401

    def on_count_loaded(self, message: CountLoaded) -> None:
        """The query's total: the table can scroll that far."""
        if message.generation != self.generation:
            return
        self.total = message.total
        self.ledger_total = message.everything
        self.table.total = message.total
        self._show_state()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A page that failed to load is asked for again on the next scroll."""
        super().on_worker_state_changed(event)
        if event.worker.group == "page" and event.state == WorkerState.ERROR:
            self.table.request_failed()

    def on_runs_table_page_needed(self, message: RunsTable.PageNeeded) -> None:
        """The table scrolled onto rows it does not have."""
        if self.query_state is not None:
            self._load_page(self.query_state, self._source(), message.offset, message.limit)

    def on_runs_table_row_opened(self, message: RunsTable.RowOpened) -> None:
        """Enter on a run: its detail."""
        from ledger.tui.screens.detail import RunDetailScreen  # after the first paint (`_prewarm`)

        self.app.push_screen(RunDetailScreen(RunId(message.key)))

    def on_runs_table_marks_changed(self, _message: RunsTable.MarksChanged) -> None:
        """Marks show in the status line."""
        self._show_state()

    def on_runs_table_sort_requested(self, message: RunsTable.SortRequested) -> None:
        """A header click sorts by that column, a second click reverses."""
        self._sort_by_column(message.column)

    def _show_state(self) -> None:
        table, total = self.table, self.total
        has_target = table.cursor_key is not None or bool(table.marked)
        if has_target != self._had_target:
            # Run actions are greyed out without a run; the footer learns of it only when
            # told (and only then: a footer refresh rebuilds every key).
            self._had_target = has_target
            self.refresh_bindings()
        if total == 0:
            text = empty_text(filtered=self.where is not None, ledger_total=self.ledger_total)
            self.query_one("#runs-empty", Static).update(text)
        self.set_class(total == 0, "-empty")
        line = status_line(
            total=total,
            cursor=table.cursor,
            sort=self.sort,
            archived=self.include_archived,
            marked=len(table.marked),
        )
        self.query_one("#runs-status", Static).update(line)

    def on_runs_table_cursor_moved(self, _message: RunsTable.CursorMoved) -> None:
        """The position shows in the status line."""
        self._show_state()

    # -- polling -----------------------------------------------------------------------

    def _poll(self) -> None:
        self._polls += 1
        self._check_ledger(housekeeping=self._polls % HOUSEKEEPING_EVERY == 1)
        if self._polls % AGES_EVERY == 0 and self.marker is not None:
            self._new_query(keep_position=True)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _check_ledger(self, *, housekeeping: bool) -> None:
        from ledger.read import windows as ui_queries  # SQLAlchemy: in workers, after the first paint

        ws = self.app.services.workspace
        if housekeeping and ws is not None:
            runs_loader.housekeeping(ws, self.store)
        self.post_message(LedgerPolled(ui_queries.change_marker(self.store)))

    def on_ledger_polled(self, message: LedgerPolled) -> None:
        """New, finished or deleted runs: reload, keeping the cursor on its run."""
        previous, self.marker = self.marker, message.marker
        if previous is not None and previous != message.marker:
            self._new_query(keep_position=True)

    # -- actions -----------------------------------------------------------------------

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        """A new valid filter: query again from the top."""
        self.where = message.expr
        self._new_query()

    def on_filter_bar_done(self, _message: FilterBar.Done) -> None:
        """Back to the table."""
        self.table.focus()

    def action_focus_filter(self) -> None:
        """Type a filter (what is typed right behind the `/` lands in the box)."""
        open_box(self, self.query_one(FilterBar).input)

    def action_reload(self) -> None:
        """Query again now."""
        self._new_query(keep_position=True)

    def action_unmark(self) -> None:
        """Clear every mark."""
        self.table.clear_marks()

    def action_toggle_archived(self) -> None:
        """Show or hide archived runs."""
        self.include_archived = not self.include_archived
        self.notify("showing archived runs (dimmed)" if self.include_archived else "archived runs hidden")
        self._new_query(keep_position=True)

    def action_diff(self) -> None:
        """Compare the marked runs side by side (the first marked is the baseline)."""
        from ledger.tui.screens.diff import DiffScreen  # after the first paint (`_prewarm`)

        marked = self.table.marked
        if len(marked) < 2:
            self.notify("mark two or more runs with space, then press d", severity="warning")
            return
        self.app.push_screen(DiffScreen([RunId(k) for k in marked]))


def _cancelled() -> bool:
    """Whether a newer load replaced the calling worker (exclusive workers cancel the older)."""
    return get_current_worker().is_cancelled


def _loaded(window: Window, *, first: bool, complete: bool) -> PageLoaded:
    return PageLoaded(
        window.query.generation,
        window.offset,
        window.rows,
        first=first,
        complete=complete,
        archived=window.page.archived,
    )
