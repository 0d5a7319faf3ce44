"""Marked runs side by side: the `ledger diff` model (`ledger.read.diff.RunsDiff`) as tabs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar

from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from ledger.core.errors import LedgerError
from ledger.core.numbers import format_number
from ledger.read import queries
from ledger.read.diff import diff_runs
from ledger.read.render import format_value
from ledger.tui.detail_views import series_line
from ledger.tui.messages import DiffLoaded, WorkFailed
from ledger.tui.screens.run_actions import RunActionsScreen
from ledger.tui.styling import style
from ledger.tui.widgets.metric_plot import MetricPlot
from ledger.tui.widgets.tables import fill
from ledger.tui.widgets.text_view import TextView

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from ledger.core.chunks import Points
    from ledger.core.ids import RunId
    from ledger.core.lockfile import EnvDiff
    from ledger.read.diff import Row, RunsDiff


class DiffScreen(RunActionsScreen):
    """Params and metrics with changes highlighted, overlaid curves, data, environment, code."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back"),
        Binding("a", "toggle_all", "All/changed rows"),
        Binding("x", "toggle_axis", "Step/time axis"),
        Binding("1", "tab('values')", "Values", show=False),
        Binding("2", "tab('curves')", "Curves", show=False),
        Binding("3", "tab('diff-data')", "Data", show=False),
        Binding("4", "tab('diff-env')", "Environment", show=False),
        Binding("5", "tab('diff-code')", "Code", show=False),
        Binding("y", "copy_id", "Copy IDs", show=False),
    ]

    def __init__(self, run_ids: list[RunId]) -> None:
        super().__init__(id="diff-screen")
        self.run_ids = run_ids
        self.diff: RunsDiff | None = None
        self.series: dict[str, list[tuple[str, Points]]] = {}
        self.show_all = False
        self.axis = "step"

    def compose(self) -> ComposeResult:
        """Title and tabs."""
        yield Static(f"comparing {len(self.run_ids)} runs …", id="diff-title", markup=False)
        with TabbedContent(id="diff-tabs"):
            with TabPane("Params & metrics", id="values"):
                yield DataTable(id="values-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Curves", id="curves"), VerticalScroll():
                yield Static("", id="curves-status", markup=False)
                yield Vertical(id="curve-plots")
            with TabPane("Data", id="diff-data"), VerticalScroll():
                yield Static("", id="data-diff-status", markup=False)
                yield DataTable(id="data-diff-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Environment", id="diff-env"), VerticalScroll():
                yield Static("", id="env-diff", markup=False)
            with TabPane("Code", id="diff-code"):
                yield TextView(diff=True, placeholder="search the code diff", id="code-diff")
        yield Footer()

    def on_mount(self) -> None:
        """Compare."""
        view = self.query_one(TextView)
        view.set_highlight_styles(
            {
                "added": self._style("added"),
                "removed": self._style("removed"),
                "hunk": self._style("accent"),
                "header": self._style("heading"),
                "match": self._style("changed") + Style(reverse=True),
            }
        )
        self._load()

    def current_id(self) -> RunId | None:
        """The baseline run."""
        return self.run_ids[0]

    def action_copy_id(self) -> None:
        """Copy every compared run's ID, one per line."""
        self.app.copy_to_clipboard("\n".join(self.run_ids))
        self.notify(f"copied {len(self.run_ids)} run IDs")

    @work(thread=True, exclusive=True, group="diff", exit_on_error=False)
    def _load(self) -> None:
        try:
            diff = diff_runs(self.store, self.run_ids, root=self.app.services.root, patch=True)
        except LedgerError as e:
            self.post_message(WorkFailed(f"cannot compare: {e}"))
            return
        series: dict[str, list[tuple[str, Points]]] = {}
        for key in diff.series:
            series[key] = [
                (
                    _label(d.summary.short_id, d.summary.name),
                    queries.get_series(self.store, d.summary.id, key),
                )
                for d in diff.runs
            ]
        self.post_message(DiffLoaded(diff, series))

    def on_diff_loaded(self, message: DiffLoaded) -> None:
        """Fill every tab."""
        self.diff, self.series = message.diff, message.series
        labels = [_label(d.summary.short_id, d.summary.name) for d in message.diff.runs]
        self.query_one("#diff-title", Static).update(
            f"comparing {len(labels)} runs · baseline {labels[0]} · " + " · ".join(labels[1:])
        )
        self._fill_values()
        self._fill_curves()
        self._fill_data()
        self._fill_environment()
        self._fill_code()

    def _fill_values(self) -> None:
        diff = self.diff
        if diff is None:
            return
        labels = [_label(d.summary.short_id, d.summary.name) for d in diff.runs]
        changed = self._style("changed")
        blank = [""] * len(diff.runs)
        rows: list[list[str | Text]] = []
        for title, found in (("params", diff.params), ("metrics", diff.metrics)):
            shown = [r for r in found if self.show_all or r.changed]
            rows.append(["", Text(title, style=self._style("heading")), *blank])
            if not shown:
                note = "none recorded" if not found else "all identical (a shows them)"
                rows.append(["", Text(f"  {note}", style=self._style("muted")), *blank])
            for row in shown:
                rows.append(
                    [
                        Text("*", style=changed) if row.changed else "",
                        Text(row.key, style=changed if row.changed else ""),
                        *self._cells(row, numeric_deltas=title == "metrics"),
                    ]
                )
        fill(self.query_one("#values-table", DataTable), ["", "key", *labels], rows)

    def _cells(self, row: Row, *, numeric_deltas: bool) -> list[Text]:
        compared = row.compared or row.values  # a path inside each run's own folder is no change
        first = compared[0]
        cells = []
        for i, (value, seen, delta) in enumerate(zip(row.values, compared, row.deltas, strict=True)):
            text = Text("(none)" if value is None else format_value(value))
            differs = i > 0 and (seen != first or type(seen) is not type(first))
            if differs and not (isinstance(seen, float) and seen != seen and first != first):
                text.stylize(self._style("changed"))
            if i > 0 and delta is not None and math.isfinite(delta) and delta != 0 and numeric_deltas:
                text.append(
                    f" ({format_number(delta, plus=True)})", style=self._style("good" if delta > 0 else "bad")
                )
            cells.append(text)
        return cells

    def _fill_curves(self) -> None:
        status = self.query_one("#curves-status", Static)
        box = self.query_one("#curve-plots", Vertical)
        box.remove_children()
        if not self.series:
            status.update("these runs share no metric series to overlay")
            return
        status.update(f"{len(self.series)} shared series · x switches the axis (now: {self.axis})")
        plots = [MetricPlot(key, classes="metric-plot") for key in self.series]
        box.mount_all(plots)
        self._draw_curves()

    def _draw_curves(self) -> None:
        label = "step" if self.axis == "step" else "seconds since each run's first point"
        for plot in self.query_one("#curve-plots", Vertical).query(MetricPlot):
            lines = [
                series_line(name, points, axis=self.axis) for name, points in self.series.get(plot.title, [])
            ]
            plot.show_lines(lines, x_label=label)

    def _fill_data(self) -> None:
        diff = self.diff
        if diff is None:
            return
        table = self.query_one("#data-diff-table", DataTable)
        changed = [r for r in diff.data if r.changed]
        rows: list[list[str | Text]] = [
            [
                Text(row.key, style=self._style("changed") if row.changed else ""),
                *[Text("(none)" if v is None else str(v)[:16]) for v in row.values],
            ]
            for row in (diff.data if self.show_all else changed)
        ]
        labels = [_label(d.summary.short_id, d.summary.name) for d in diff.runs]
        fill(table, ["path", *labels], rows)
        table.display = bool(diff.data)
        status = self.query_one("#data-diff-status", Static)
        if not diff.data:
            status.update("none of these runs recorded DVC-tracked data")
        else:
            status.update(f"{len(changed)} of {len(diff.data)} data path(s) changed hash")

    def _fill_environment(self) -> None:
        diff = self.diff
        if diff is None:
            return
        text = Text()
        base = diff.runs[0].summary.short_id
        for d, env in zip(diff.runs[1:], diff.environments, strict=True):
            text.append(f"{base} → {d.summary.short_id}\n", style=self._style("heading"))
            text.append_text(self._env_text(env))
            text.append("\n")
        self.query_one("#env-diff", Static).update(text)

    def _env_text(self, env: EnvDiff | None) -> Text:
        if env is None:
            return Text("  an environment was not recorded for one of the runs\n", style=self._style("muted"))
        if env.is_empty:
            return Text("  identical environments\n", style=self._style("muted"))
        out = Text()
        if env.python:
            out.append(f"  ~ python {env.python[0]} → {env.python[1]}\n", style=self._style("changed"))
        if env.platform:
            out.append(f"  ~ platform {env.platform[0]} → {env.platform[1]}\n", style=self._style("changed"))
        if env.cuda:
            out.append(f"  ~ cuda {env.cuda[0]} → {env.cuda[1]}\n", style=self._style("changed"))
        for p in env.added:
            out.append(f"  + {p.name} {p.version}\n", style=self._style("added"))
        for p in env.removed:
            out.append(f"  - {p.name} {p.version}\n", style=self._style("removed"))
        for c in env.changed:
            out.append(f"  ~ {c.summary}\n", style=self._style("changed"))
        return out

    def _fill_code(self) -> None:
        diff = self.diff
        if diff is None:
            return
        view = self.query_one("#code-diff", TextView)
        base = diff.runs[0].summary.short_id
        parts = []
        for d, code in zip(diff.runs[1:], diff.code, strict=True):
            other = d.summary.short_id
            if code is None:
                parts.append(f"### {base} → {other}: a snapshot is missing from this repository\n")
                continue
            parts.append(f"### {base} → {other}: git diff {code.base[:12]} {code.other[:12]}")
            if not code.files:
                parts.append("    identical code\n")
                continue
            for path, added, deleted in code.files:
                counts = "binary" if added < 0 else f"+{added} -{deleted}"
                parts.append(f"    {path}  {counts}")
            parts.append(code.patch or "")
        if not diff.code or all(c is None for c in diff.code):
            view.show_problem("code snapshots are not available in this repository")
        else:
            view.set_text("\n".join(parts))

    def action_back(self) -> None:
        """Back to the runs."""
        self.dismiss()

    def action_tab(self, tab: str) -> None:
        """Show a tab."""
        self.query_one(TabbedContent).active = tab

    def action_toggle_all(self) -> None:
        """Show every row, or only rows that changed."""
        self.show_all = not self.show_all
        self._fill_values()
        self._fill_data()

    def action_toggle_axis(self) -> None:
        """Overlay curves against steps or wall time."""
        self.axis = "time" if self.axis == "step" else "step"
        if self.series:
            self.query_one("#curves-status", Static).update(
                f"{len(self.series)} shared series · x switches the axis (now: {self.axis})"
            )
            self._draw_curves()

    def _style(self, meaning: str) -> Style:
        return style(self.app, meaning)


def _label(short_id: str, name: str | None) -> str:
    return f"{short_id} {name}" if name else short_id
