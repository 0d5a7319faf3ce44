"""Pilot tests of the run detail and diff screens."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, Log, TabbedContent

from ledger.read import queries
from ledger.tui.screens.detail import RunDetailScreen
from ledger.tui.screens.diff import DiffScreen
from ledger.tui.widgets.filter_table import FilterTable
from ledger.tui.widgets.metric_plot import MetricPlot
from ledger.tui.widgets.text_view import TextView
from tests.tui.snapshot_app import RUNS, SIZE, make_app, make_repo

pytestmark = pytest.mark.tui


def plain(widget) -> str:
    """What a Static shows, as plain text."""
    out = io.StringIO()
    Console(width=200, file=out, color_system=None).print(widget.content)
    return out.getvalue()


def detail(app) -> RunDetailScreen:
    screen = app.screen
    assert isinstance(screen, RunDetailScreen)
    return screen


async def open_run(app, pilot, name, wait_for_workers) -> RunDetailScreen:
    await wait_for_workers(pilot)
    app.push_screen(RunDetailScreen(RUNS[name]))
    await wait_for_workers(pilot)
    return detail(app)


async def show_tab(pilot, key, wait_for_workers) -> None:
    await pilot.press(key)
    await wait_for_workers(pilot)


async def test_overview_shows_the_run(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)

        text = plain(screen.query_one("#overview-body"))
        assert RUNS["baseline"] in text
        assert "python train.py --lr 0.01" in text
        assert "baseline" in text


@pytest.mark.parametrize(
    ("key", "tab"),
    [("2", "params"), ("3", "metrics"), ("4", "data"), ("5", "environment"), ("6", "code"), ("7", "logs")],
    ids=["params", "metrics", "data", "environment", "code", "logs"],
)
async def test_number_keys_switch_tabs(app, wait_for_workers, key, tab):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)
        await show_tab(pilot, key, wait_for_workers)

        assert screen.query_one(TabbedContent).active == tab


async def test_params_are_searchable(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)
        await show_tab(pilot, "2", wait_for_workers)
        table = screen.query_one("#params-table", FilterTable)
        await pilot.click(".table-search")
        await pilot.press(*"opt")

        assert table.query_one(DataTable).row_count == 1
        assert "1 of 3 params" in table.status


async def test_metrics_tab_plots_every_series(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)
        await show_tab(pilot, "3", wait_for_workers)

        plots = list(screen.query(MetricPlot))
        assert [p.title for p in plots] == ["acc", "loss"]
        assert plots[1].lines[0].xs[:3] == [0.0, 1.0, 2.0]


async def test_x_switches_the_plots_to_wall_time(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)
        await show_tab(pilot, "3", wait_for_workers)
        await pilot.press("x")
        await wait_for_workers(pilot)

        plot = list(screen.query(MetricPlot))[1]
        assert plot.lines[0].xs[:3] == [0.0, 1.5, 3.0]
        assert plot.x_label.startswith("seconds")


async def test_a_run_without_series_says_so(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "crashed", wait_for_workers)
        await show_tab(pilot, "3", wait_for_workers)

        assert "recorded no metrics" in str(screen.query_one("#metrics-status").render())


async def test_data_tab_lists_paths_and_hashes(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)
        await show_tab(pilot, "4", wait_for_workers)

        table = screen.query_one("#data-table", DataTable)
        assert table.row_count == 2
        assert str(table.get_row_at(1)[2]) == "md5:a1b2c3d4e5"


async def test_environment_is_searchable(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)
        await show_tab(pilot, "5", wait_for_workers)
        packages = screen.query_one("#packages-table", FilterTable)
        assert packages.query_one(DataTable).row_count == 4
        await pilot.click("#packages-table .table-search")
        await pilot.press(*"torch")

        assert packages.query_one(DataTable).row_count == 1
        assert "CPython 3.11.9" in packages.status


async def test_log_is_searchable(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)
        await show_tab(pilot, "7", wait_for_workers)
        view = screen.query_one("#log-view", TextView)
        assert view.status == "3 lines"
        await pilot.click("#log-view .text-search")
        await pilot.press(*"loss")

        assert view.status == "2 of 3 lines match 'loss'"


async def test_slash_opens_the_log_search_and_inside_it_is_text(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)
        await show_tab(pilot, "7", wait_for_workers)
        view = screen.query_one("#log-view", TextView)
        view.query_one(Log).focus()
        await pilot.pause()
        await pilot.press("slash", *"loss", "slash")

        assert view.query_one(Input).value == "loss/"
        assert view.status == "0 of 3 lines match 'loss/'"


async def test_unreadable_log_is_a_message_not_a_traceback(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "crashed", wait_for_workers)
        await show_tab(pilot, "7", wait_for_workers)

        view = screen.query_one("#log-view", TextView)
        assert view.has_class("-problem")
        assert "cannot be read" in view.status


async def test_missing_log_says_so(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "live", wait_for_workers)
        await show_tab(pilot, "7", wait_for_workers)

        assert screen.query_one("#log-view", TextView).status == "this run has no captured output"


async def test_code_tab_without_a_repository_says_why(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "wider", wait_for_workers)
        await show_tab(pilot, "6", wait_for_workers)

        assert "not inside the run's git repository" in screen.query_one("#code-view", TextView).status


async def test_code_tab_shows_the_snapshot_diff(tmp_path, ledger_path, wait_for_workers):
    commits = make_repo(tmp_path / "repo")
    app = make_app(ledger_path, root=tmp_path / "repo", commits=commits)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "baseline", wait_for_workers)
        await show_tab(pilot, "6", wait_for_workers)

        view = screen.query_one("#code-view", TextView)
        assert view.status.startswith(f"git diff {commits['baseline'][:12]}")
        assert "+batch = 32" in view._lines


async def test_tag_from_the_detail_screen_updates_the_overview(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_run(app, pilot, "sgd", wait_for_workers)
        await pilot.press("t", *"nan-loss", "enter")
        await wait_for_workers(pilot)

        assert "nan-loss" in queries.get_run(app.store, RUNS["sgd"]).summary.tags
        assert "nan-loss" in plain(screen.query_one("#overview-body"))


async def test_diff_highlights_changed_params_and_metrics(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        app.push_screen(DiffScreen([RUNS["baseline"], RUNS["wider"]]))
        await wait_for_workers(pilot)

        table = app.screen.query_one("#values-table", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert ["*", "lr", "0.01", "0.005"] in rows
        assert ["*", "acc", "0.81", "0.86 (+0.05)"] in rows
        assert not any(r[1] == "optimizer" for r in rows)  # unchanged rows hidden...
        await pilot.press("a")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert ["", "optimizer", "adam", "adam"] in rows  # ...until `a`


async def test_diff_overlays_shared_curves_and_lists_env_and_data_changes(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        app.push_screen(DiffScreen([RUNS["baseline"], RUNS["wider"]]))
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, DiffScreen)

        plots = {p.title: p for p in screen.query(MetricPlot)}
        assert set(plots) == {"acc", "loss"}
        assert [line.label for line in plots["loss"].lines] == ["4e65d3f baseline", "b9d1723 wider"]
        env = plain(screen.query_one("#env-diff"))
        assert "+ rich 13.7.1" in env
        assert "- mylib 0.1.0" in env
        assert "numpy 1.26.4 -> 2.0.0" in env
        data = screen.query_one("#data-diff-table", DataTable)
        assert [str(data.get_row_at(i)[0]) for i in range(data.row_count)] == ["data/train.csv"]
