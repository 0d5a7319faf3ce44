"""A run's detail: overview, params, metrics with plots, data, environment, code, logs.

Opening a run costs one `get_run` and the overview: every other tab is built (its
widgets mounted, its data loaded in a worker) the first time it is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from textual import work
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

from ledger.core.errors import RunNotFoundError
from ledger.git import display as ui_git
from ledger.read import queries, windows
from ledger.tui import detail_loader
from ledger.tui import detail_views as views
from ledger.tui.messages import (
    DetailLoaded,
    EnvironmentLoaded,
    LogLoaded,
    PatchLoaded,
    SeriesLoaded,
    WorkspaceChecked,
)
from ledger.tui.screens.run_actions import RunActionsScreen
from ledger.tui.styling import style
from ledger.tui.widgets.filter_table import FilterTable
from ledger.tui.widgets.metric_plot import MetricPlot
from ledger.tui.widgets.tables import fill
from ledger.tui.widgets.text_view import TextView

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.widget import Widget

    from ledger.core.chunks import Points
    from ledger.core.ids import RunId
    from ledger.core.records import RunDetail

TABS = {
    "overview": "Overview", "params": "Params", "metrics": "Metrics", "data": "Data",
    "environment": "Environment", "code": "Code", "logs": "Logs",
}  # fmt: skip
MAX_PLOTS = 24
"""Series plotted at most (each plot is a widget; the table lists them all)."""


class RunDetailScreen(RunActionsScreen):
    """Everything about one run, in tabs."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back"),
        *(
            Binding(str(i), f"tab('{tab}')", title, show=False)
            for i, (tab, title) in enumerate(TABS.items(), 1)
        ),
        Binding("x", "toggle_axis", "Step/time axis"),
        Binding("t", "tag", "Tag"),
        Binding("n", "note", "Note"),
        Binding("a", "archive", "Archive", show=False),
        Binding("D,delete", "delete", "Delete", show=False),
        Binding("y", "copy_id", "Copy ID"),
        Binding("r", "reproduce", "Reproduce"),
    ]

    def __init__(self, run_id: RunId) -> None:
        super().__init__(id="detail-screen")
        self.run_id = run_id
        self.detail: RunDetail | None = None
        self.series: dict[str, Points] = {}
        self.axis = "step"
        self._built: set[str] = {"overview"}
        self._live: dict[str, bool | None] | None = None

    def compose(self) -> ComposeResult:
        """A title line, the overview, and empty panes for the other tabs."""
        yield Static(f"run {self.run_id[:12]} …", id="detail-title", markup=False)
        with TabbedContent(id="detail-tabs"):
            with TabPane("Overview", id="overview"), VerticalScroll():
                yield Static("loading…", id="overview-body")
            for tab, title in list(TABS.items())[1:]:
                yield TabPane(title, id=tab)
        yield Footer()

    def on_mount(self) -> None:
        """Load the run."""
        self._load_detail()

    def current_id(self) -> RunId | None:
        """This screen's run."""
        return self.run_id

    def runs_changed(self, *, deleted: tuple[str, ...] = ()) -> None:
        """Tags or note changed (or the run is gone): load it again."""
        self._load_detail()

    # -- the run -----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def _load_detail(self) -> None:
        try:
            detail = queries.get_run(self.store, self.run_id)
        except RunNotFoundError:
            self.app.call_from_thread(self._gone)
            return
        self.post_message(DetailLoaded(detail, windows.reproductions(self.store, self.run_id)))

    def _gone(self) -> None:
        self.notify(f"run {self.run_id[:12]} no longer exists", severity="warning")
        self.dismiss()

    async def on_detail_loaded(self, message: DetailLoaded) -> None:
        """Fill the overview; refill (or build) the tab on show."""
        first = self.detail is None
        self.detail = detail = message.detail
        s = detail.summary
        self.query_one("#detail-title", Static).update(f"run {s.short_id}  {s.name or ''}  {s.status}")
        self.query_one("#overview-body", Static).update(
            views.overview(
                detail,
                now=self.app.services.clock(),
                reproductions=message.reproductions,
                subject=self.app.subjects.snapshot().get(s.commit or ""),
                style=self._style,
            )
        )
        if first:
            await self._build(self.query_one(TabbedContent).active)
        else:
            for tab in self._built:
                self._fill(tab, detail)

    async def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A tab is built the first time it shows."""
        if event.pane.id is not None:
            await self._build(event.pane.id)

    async def _build(self, tab: str) -> None:
        detail = self.detail
        if tab in self._built or detail is None:
            return
        self._built.add(tab)
        pane = self.query_one(f"#{tab}", TabPane)
        await pane.mount_all(self._widgets(tab))
        for view in pane.query(TextView):
            view.set_highlight_styles(self._text_styles())
        self._fill(tab, detail)
        if tab == "metrics":
            self._load_series(detail)
        elif tab == "data":
            self._check_workspace(detail)
        elif tab == "environment":
            self._load_environment(detail)
        elif tab == "code":
            self._load_patch(detail)
        elif tab == "logs":
            self._load_log()

    def _widgets(self, tab: str) -> list[Widget]:
        if tab == "params":
            return [FilterTable(placeholder="search params", id="params-table")]
        if tab == "metrics":
            table: DataTable[str] = DataTable(id="metrics-table", cursor_type="row", zebra_stripes=True)
            return [
                VerticalScroll(table, Static("", id="metrics-status", markup=False), Vertical(id="plots"))
            ]
        if tab == "data":
            return [
                VerticalScroll(
                    Static("", id="data-status", markup=False),
                    DataTable(id="data-table", cursor_type="row", zebra_stripes=True),
                    Static("", id="outputs-status", markup=False),
                    DataTable(id="outputs-table", cursor_type="row", zebra_stripes=True),
                )
            ]
        if tab == "environment":
            return [FilterTable(placeholder="search packages", id="packages-table")]
        if tab == "code":
            return [TextView(diff=True, placeholder="search the patch", id="code-view")]
        return [TextView(placeholder="search the log", id="log-view")]

    def _fill(self, tab: str, detail: RunDetail) -> None:
        """What a tab shows straight from the run record (its worker adds the rest)."""
        if tab == "params":
            params = views.param_rows(detail)
            status = "" if params else "this run recorded no params"
            table = self.query_one("#params-table", FilterTable)
            table.set_rows(("key", "value", "source"), params, noun="params", status=status)
        elif tab == "metrics":
            metrics = self.query_one("#metrics-table", DataTable)
            fill(metrics, ("metric", "final value", "step", "source"), views.metric_rows(detail))
            metrics.display = bool(detail.metrics)
        elif tab == "data":
            self._fill_data(detail)

    # -- workers -----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="series", exit_on_error=False)
    def _load_series(self, detail: RunDetail) -> None:
        self.post_message(SeriesLoaded(*detail_loader.load_series(self.store, detail)))

    @work(thread=True, exclusive=True, group="workspace", exit_on_error=False)
    def _check_workspace(self, detail: RunDetail) -> None:
        ws = self.app.services.workspace
        cache = None if ws is None else ws.spool_dir.parent / "hash-cache.json"
        matches, problem = detail_loader.check_workspace(self.app.services.root, detail, cache=cache)
        self.post_message(WorkspaceChecked(matches, problem))

    @work(thread=True, exclusive=True, group="environment", exit_on_error=False)
    def _load_environment(self, detail: RunDetail) -> None:
        self.post_message(EnvironmentLoaded(*detail_loader.load_environment(self.store, detail)))

    @work(thread=True, exclusive=True, group="code", exit_on_error=False)
    def _load_patch(self, detail: RunDetail) -> None:
        self.post_message(PatchLoaded(ui_git.snapshot_patch(self.app.services.root, detail)))

    @work(thread=True, exclusive=True, group="log", exit_on_error=False)
    def _load_log(self) -> None:
        self.post_message(LogLoaded(windows.read_log(self.store, self.run_id)))

    # -- results -----------------------------------------------------------------------

    def on_series_loaded(self, message: SeriesLoaded) -> None:
        """Plot every series (x switches the axis between step and time)."""
        self.series = message.series
        lines = []
        if message.series:
            lines.append(f"{len(message.series)} series · x switches the axis (now: {self.axis})")
        lines += [f"series {key}: {why}" for key, why in message.problems.items()]
        if len(message.series) > MAX_PLOTS:
            lines.append(f"plotting the first {MAX_PLOTS} series of {len(message.series)}")
        if not message.series and not message.problems:
            finals = self.detail is not None and self.detail.metrics
            lines.append(
                "this run logged no metric series (final values are above)"
                if finals
                else "this run recorded no metrics"
            )
        self.query_one("#metrics-status", Static).update("\n".join(lines))
        box = self.query_one("#plots", Vertical)
        box.remove_children()
        box.mount_all([MetricPlot(key, classes="metric-plot") for key in list(self.series)[:MAX_PLOTS]])
        self._draw_plots()

    def _draw_plots(self) -> None:
        label = "step" if self.axis == "step" else "seconds since the first point"
        for plot in self.query(MetricPlot):
            points = self.series.get(plot.title)
            if points is not None:
                plot.show_lines([views.series_line(plot.title, points, axis=self.axis)], x_label=label)

    def _fill_data(self, detail: RunDetail) -> None:
        data = self.query_one("#data-table", DataTable)
        headers = ("path", "role", "hash", "size", "files", "stage/source", "at capture", "now")
        fill(data, headers, views.data_rows(detail, self._live, self._style))
        data.display = bool(detail.data)
        count = f"{len(detail.data)} DVC-tracked path(s)"
        self.query_one("#data-status", Static).update(
            count if detail.data else "no DVC-tracked data recorded for this run"
        )
        outputs = self.query_one("#outputs-table", DataTable)
        fill(outputs, ("output", "hash", "size"), views.output_rows(detail))
        outputs.display = bool(detail.outputs)
        status = f"{len(detail.outputs)} output file(s)" if detail.outputs else "no output files recorded"
        folders = ", ".join(f"{f}/" for f in detail.run_folders)
        self.query_one("#outputs-status", Static).update(
            f"{status}; wrote into {folders}" if folders else status
        )

    def on_workspace_checked(self, message: WorkspaceChecked) -> None:
        """Fill the "now" column."""
        self._live = message.matches
        if self.detail is not None:
            self._fill_data(self.detail)
        if message.problem:
            self.query_one("#data-status", Static).update(message.problem)

    def on_environment_loaded(self, message: EnvironmentLoaded) -> None:
        """The lockfile, searchable."""
        table = self.query_one("#packages-table", FilterTable)
        env, columns = message.environment, ("package", "version", "source", "origin")
        if env is None:
            table.set_rows(columns, [], noun="packages", status=message.problem or "")
        else:
            rows = views.package_rows(env)
            torch = None if self.detail is None else self.detail.torch
            table.set_rows(columns, rows, noun="packages", status=views.environment_summary(env, torch))

    def on_patch_loaded(self, message: PatchLoaded) -> None:
        """The snapshot's diff, highlighted."""
        view = self.query_one("#code-view", TextView)
        patch = message.patch
        if patch.problem:
            view.show_problem(patch.problem)
        elif not patch.text:
            view.show_problem(
                f"no uncommitted changes: the snapshot holds exactly commit {(patch.base or '')[:12]}"
            )
        else:
            against = (patch.base or "the empty tree")[:12]
            cut = " (truncated)" if patch.truncated else ""
            view.set_text(patch.text, status=f"git diff {against} {(patch.snapshot or '')[:12]}{cut}")

    def on_log_loaded(self, message: LogLoaded) -> None:
        """The captured output, searchable."""
        view = self.query_one("#log-view", TextView)
        if message.log.text is None:
            view.show_problem(message.log.problem or "no log")
        else:
            view.set_text(message.log.text)

    # -- actions -----------------------------------------------------------------------

    def action_back(self) -> None:
        """Leave a search box first; otherwise back to the runs."""
        if isinstance(self.focused, Input):
            self.query_one(TabbedContent).focus()
            return
        self.dismiss()

    def action_tab(self, tab: str) -> None:
        """Show a tab."""
        self.query_one(TabbedContent).active = tab

    def action_toggle_axis(self) -> None:
        """Plot against steps or wall time."""
        self.axis = "time" if self.axis == "step" else "step"
        self.notify("x axis: " + ("step" if self.axis == "step" else "seconds since the first point"))
        if self.series:
            self._draw_plots()

    def _style(self, meaning: str) -> Style:
        return style(self.app, meaning)

    def _text_styles(self) -> dict[str, Style]:
        return {
            "added": self._style("added"),
            "removed": self._style("removed"),
            "hunk": self._style("accent"),
            "header": self._style("heading"),
            "match": self._style("changed") + Style(reverse=True),
        }
