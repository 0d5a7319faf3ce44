"""Pilot tests of the runs screen against a real ledger file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Input, OptionList

from ledger.core import records
from ledger.core.ids import RunId
from ledger.read import queries
from ledger.store import archive, writes
from ledger.tui.screens.confirm import ConfirmScreen
from ledger.tui.screens.detail import RunDetailScreen
from ledger.tui.screens.diff import DiffScreen
from ledger.tui.screens.help import HelpScreen
from ledger.tui.screens.prompt import NoteScreen, PromptScreen
from ledger.tui.screens.runs import RunsScreen
from ledger.tui.screens.sort_picker import SortPicker
from ledger.tui.widgets.filter_bar import FilterBar
from ledger.tui.widgets.runs_table import RunsTable
from tests.tui.conftest import until
from tests.tui.snapshot_app import BASE, RUNS, SIZE, app_at, make_app, make_repo

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.tui.app import LedgerApp

pytestmark = pytest.mark.tui

NEWEST_FIRST = [RUNS[k] for k in ("commit", "crashed", "live", "sgd", "wider", "baseline")]


def runs_screen(app: LedgerApp) -> RunsScreen:
    screen = app.screen
    assert isinstance(screen, RunsScreen)
    return screen


def table(app: LedgerApp) -> RunsTable:
    return app.screen.query_one(RunsTable)


def palette_choice(app: LedgerApp) -> str:
    """The command the palette's enter would run now ("" while it searches)."""
    if not isinstance(app.screen, CommandPalette):
        return ""
    hits = app.screen.query_one(CommandList)
    if hits.highlighted is None:
        return ""
    return str(hits.get_option_at_index(hits.highlighted).prompt)


async def test_opens_on_every_run_newest_first(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)

        assert list(table(app).loaded_keys()) == NEWEST_FIRST
        assert table(app).total == 6
        assert runs_screen(app).total == 6


async def test_default_columns_add_the_metrics_and_params_that_differ(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)

        keys = [c.key for c in table(app).columns]

    assert keys[:5] == ["status", "age", "name", "id", "spark"]
    assert {"metrics:acc", "metrics:loss", "params:lr", "params:batch_size", "params:optimizer"} <= set(keys)


async def test_filter_keeps_matching_runs(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("slash")
        await pilot.press(*"metrics.acc > 0.8")
        await wait_for_workers(pilot)

        assert set(table(app).loaded_keys()) == {RUNS["baseline"], RUNS["wider"]}
        assert table(app).total == 2


async def test_a_slash_inside_the_filter_box_is_text(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("slash", *"branch:feat/x")
        await wait_for_workers(pilot)

        assert app.screen.query_one(FilterBar).input.value == "branch:feat/x"
        assert table(app).total == 0


async def test_filter_syntax_error_shows_in_place_and_keeps_the_last_results(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("slash", *"tag:best")
        await wait_for_workers(pilot)
        await pilot.press("space", "left_parenthesis")
        await wait_for_workers(pilot)

        bar = app.screen.query_one(FilterBar)
        assert bar.has_class("-invalid")
        assert "expected a term" in bar.error
        assert list(table(app).loaded_keys()) == [RUNS["wider"]]


async def test_filter_from_the_command_line(seeded_path, wait_for_workers):
    app = app_at(seeded_path)
    app.initial_filter = "tag:baseline"
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)

        assert list(table(app).loaded_keys()) == [RUNS["baseline"]]


async def test_no_match_says_so(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("slash", *"tag:nothing")
        await wait_for_workers(pilot)

        assert app.screen.has_class("-empty")
        assert "No run matches" in str(app.screen.query_one("#runs-empty").render())


async def test_sort_picker_sorts_by_a_metric_and_again_reverses(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        for _ in range(2):
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SortPicker))
            picker = app.screen.query_one("#sort-options", OptionList)
            picker.highlighted = picker.get_option_index("metrics:acc")
            await pilot.press("enter")
            await wait_for_workers(pilot)
            keys = list(table(app).loaded_keys())
            if _ == 0:
                assert keys[:4] == [RUNS["live"], RUNS["commit"], RUNS["baseline"], RUNS["wider"]]
        # NaN and missing values sort last either way.
        assert keys[:4] == [RUNS["wider"], RUNS["baseline"], RUNS["commit"], RUNS["live"]]
        assert runs_screen(app).sort[0].descending


async def test_header_click_sorts_by_that_column(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        columns = table(app).columns
        x = 2 + sum(c.width + 1 for c in columns[: [c.key for c in columns].index("name")])
        await pilot.click(RunsTable, offset=(x + 1, 0))
        await wait_for_workers(pilot)

        assert table(app).sort_key == "name"
        names = [queries.get_run(app.store, RunId(k)).summary.name for k in table(app).loaded_keys()]
        assert names[:5] == ["baseline", "crashed", "live", "sgd", "wider"]


async def test_enter_opens_the_highlighted_run(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("down", "enter")
        await wait_for_workers(pilot)

        assert isinstance(app.screen, RunDetailScreen)
        assert app.screen.run_id == RUNS["crashed"]
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_mark_two_runs_and_diff_them(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("down", "down", "down", "down", "space", "space")
        assert table(app).marked == (RUNS["wider"], RUNS["baseline"])
        await pilot.press("d")
        await wait_for_workers(pilot)

        screen = app.screen
        assert isinstance(screen, DiffScreen)
        assert screen.diff is not None
        assert [d.summary.id for d in screen.diff.runs] == [RUNS["wider"], RUNS["baseline"]]
        assert "loss" in screen.series


async def test_diff_needs_two_marked_runs(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("space", "d")

        assert isinstance(app.screen, RunsScreen)


async def test_tag_marked_runs(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("space", "space", "t")
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"keep", "enter")
        await wait_for_workers(pilot)

        assert isinstance(app.screen, RunsScreen)
        for key in ("commit", "crashed"):
            assert "keep" in queries.get_run(app.store, RUNS[key]).summary.tags
        assert app.screen.query_one(RunsTable).marked == (RUNS["commit"], RUNS["crashed"])


async def test_minus_removes_a_tag(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("end", "t", *"-baseline", "enter")
        await wait_for_workers(pilot)

        assert queries.get_run(app.store, RUNS["baseline"]).summary.tags == ()


async def test_note_is_edited_in_a_dialog(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("n")
        await wait_for_workers(pilot)
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"try a lower lr", "ctrl+s")
        await wait_for_workers(pilot)

        assert queries.get_run(app.store, RUNS["commit"]).note == "try a lower lr"


async def test_archive_asks_then_hides_and_A_shows_archived(app, wait_for_workers):  # noqa: N802
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for_workers(pilot)

        assert RUNS["commit"] not in table(app).loaded_keys()
        assert table(app).total == 5
        await pilot.press("A")
        await wait_for_workers(pilot)
        assert RUNS["commit"] in table(app).loaded_keys()


async def test_cancelled_delete_keeps_the_run(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("D")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await wait_for_workers(pilot)

        assert table(app).total == 6


async def test_delete_removes_the_run_after_confirmation(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("D", "y")
        await wait_for_workers(pilot)

        assert table(app).total == 5
        assert RUNS["commit"] not in table(app).loaded_keys()
        assert queries.count_runs(app.store) == 5


async def test_copy_id_puts_the_full_id_on_the_clipboard(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("y")

        assert app.clipboard == RUNS["commit"]


async def test_a_run_recorded_elsewhere_appears_within_two_seconds(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        new = RunId("f" * 32)
        writes.create_run(
            app.store, records.NewRun(id=new, source="run", started_at=BASE + 86400, name="fresh")
        )
        for _ in range(20):
            await pilot.pause(0.1)
            if RUNS["commit"] != table(app).loaded_keys()[0]:
                break
        await wait_for_workers(pilot)

        assert table(app).loaded_keys()[0] == new
        assert table(app).total == 7


async def test_refresh_keeps_the_cursor_on_its_run(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("down", "down")
        assert table(app).cursor_key == RUNS["live"]
        writes.create_run(
            app.store, records.NewRun(id=RunId("f" * 32), source="run", started_at=BASE + 86400)
        )
        for _ in range(20):
            await pilot.pause(0.1)
            if table(app).total == 7:
                break
        await wait_for_workers(pilot)

        assert table(app).cursor_key == RUNS["live"]
        assert table(app).cursor == 3


async def test_pages_load_as_the_table_scrolls(ledger_path, wait_for_workers):
    app = make_app(ledger_path, count=250)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        assert len(table(app).loaded_keys()) == 50
        assert table(app).total == 256

        await pilot.press("end")
        await wait_for_workers(pilot)

        loaded = table(app).loaded_keys()
        assert len(loaded) < 256
        assert table(app).cursor == 255
        assert table(app).cursor_key == RUNS["baseline"]


async def test_no_runs_yet_explains_how_to_start(ledger_path, wait_for_workers):
    from ledger.store.engine import connect
    from ledger.tui.app import LedgerApp
    from ledger.tui.services import Services

    store = connect(f"sqlite:///{ledger_path}", upgrade=True)
    app = LedgerApp(Services(store=store, clock=lambda: BASE))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)

        assert app.screen.has_class("-empty")
        assert "ledger run -- python train.py" in str(app.screen.query_one("#runs-empty").render())


async def test_every_run_archived_says_how_to_see_them(app, wait_for_workers):
    archive.set_archived(app.store, list(RUNS.values()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)

        assert "Every run is archived" in str(app.screen.query_one("#runs-empty").render())


async def test_column_chooser_choice_is_saved(app, seeded_path, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("c")
        await wait_for_workers(pilot)
        from textual.widgets import SelectionList

        choices = app.screen.query_one(SelectionList)
        choices.deselect_all()
        choices.select("run:name")
        choices.select("metrics:acc")
        await pilot.press("ctrl+s")
        await wait_for_workers(pilot)

        assert [c.key for c in table(app).columns] == ["name", "metrics:acc"]
    saved = (seeded_path.parent / "ui.json").read_text()
    assert '"acc"' in saved


async def test_help_lists_the_keys_of_the_screen(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("question_mark")

        assert isinstance(app.screen, HelpScreen)
        assert ("d", "Diff marked") in app.screen.keys
        assert ("D, del", "Delete") in app.screen.keys
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_command_palette_lists_every_action(app, wait_for_workers):
    from ledger.tui.commands import screen_actions

    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        titles = {a.title for a in screen_actions(app, app.screen)}

    assert {
        "Filter", "Diff marked", "Sort", "Reverse sort", "Columns", "Tag", "Note", "Archive",
        "Show archived", "Delete", "Copy ID", "Unmark all", "Reload", "Open", "Mark", "Help", "Quit",
    } <= titles  # fmt: skip
    assert "Reproduce" not in titles  # no repository: the action is absent, not broken


async def test_command_palette_runs_an_action(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"show archived")
        await until(pilot, lambda: "Show archived" in palette_choice(app))
        await pilot.press("enter")
        await wait_for_workers(pilot)

        assert runs_screen(app).include_archived


async def test_escape_in_the_filter_goes_back_to_the_table(app, wait_for_workers):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press("escape")

        assert isinstance(app.focused, RunsTable)


async def test_no_ledger_yet_then_the_first_run_opens_it(tmp_path: Path, wait_for_workers):
    from ledger.store.engine import connect
    from ledger.tui.app import LedgerApp
    from ledger.tui.screens.no_ledger import NoLedgerScreen
    from ledger.tui.services import Services

    path = tmp_path / "ledger.db"
    app = LedgerApp(Services(store=None, ledger_file=path, clock=lambda: BASE, poll_interval=0.1))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, NoLedgerScreen)
        connect(f"sqlite:///{path}").close()
        for _ in range(30):
            await pilot.pause(0.1)
            if isinstance(app.screen, RunsScreen):
                break
        await wait_for_workers(pilot)

        assert isinstance(app.screen, RunsScreen)
        assert app.screen.has_class("-empty")


async def test_commit_subjects_fill_in_from_the_repository(tmp_path, ledger_path, wait_for_workers):
    commits = make_repo(tmp_path / "repo")
    app = make_app(ledger_path, root=tmp_path / "repo", commits=commits)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)

        subject = [c.key for c in table(app).columns].index("subject")
        baseline = table(app).row(5)
        assert baseline is not None
        assert baseline.key == RUNS["baseline"]
        assert baseline.cells[subject].text == "Train with adam"
        first = table(app).row(0)
        assert first is not None
        assert first.cells[subject].text == "-"  # a commit this repository does not have
