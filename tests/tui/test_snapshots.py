"""SVG snapshots of the main screens at 120x36, on the deterministic seeded ledger.

Update only after reviewing the report: `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from textual.widgets import Input

from ledger.tui.app import LedgerApp
from ledger.tui.screens.detail import RunDetailScreen
from ledger.tui.screens.diff import DiffScreen
from ledger.tui.services import Services
from tests.tui.conftest import settle, until
from tests.tui.snapshot_app import BASE, RUNS, SIZE, app_at

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from textual.pilot import Pilot

pytestmark = pytest.mark.tui


def keys(
    *pressed: str,
    before: Callable[[Pilot[None]], None] | None = None,
    ready: Callable[[Pilot[None]], bool] | None = None,
) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Settle, optionally act on the app, press keys, settle again (and wait for `ready`)."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        if before is not None:
            before(pilot)
            await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)
        if ready is not None:
            await until(pilot, lambda: ready(pilot))
        # The cursor blinks every half second: on a loaded machine the picture would
        # catch it off. Stopping the blink shows it, as right after a key press.
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


def detail_ready(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    return isinstance(screen, RunDetailScreen) and screen.detail is not None


def plots_ready(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    return isinstance(screen, RunDetailScreen) and bool(screen.series)


def diff_ready(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    return isinstance(screen, DiffScreen) and screen.diff is not None


def test_runs(snap_compare, seeded_path):
    assert snap_compare(app_at(seeded_path), terminal_size=SIZE, run_before=keys())


def test_runs_marked_and_sorted(snap_compare, seeded_path):
    assert snap_compare(
        app_at(seeded_path), terminal_size=SIZE, run_before=keys("space", "space", "S", "down")
    )


def test_runs_filter_error(snap_compare, seeded_path):
    assert snap_compare(app_at(seeded_path), terminal_size=SIZE, run_before=keys("slash", *"metrics.acc >"))


def test_runs_filtered(snap_compare, seeded_path):
    assert snap_compare(
        app_at(seeded_path),
        terminal_size=SIZE,
        run_before=keys("slash", *"tag:best or tag:baseline", "enter"),
    )


def test_detail_overview(snap_compare, seeded_path):
    def open_run(pilot: Pilot[None]) -> None:
        pilot.app.push_screen(RunDetailScreen(RUNS["baseline"]))

    assert snap_compare(
        app_at(seeded_path), terminal_size=SIZE, run_before=keys(before=open_run, ready=detail_ready)
    )


def test_detail_metrics(snap_compare, seeded_path):
    def open_run(pilot: Pilot[None]) -> None:
        pilot.app.push_screen(RunDetailScreen(RUNS["baseline"]))

    assert snap_compare(
        app_at(seeded_path), terminal_size=SIZE, run_before=keys("3", before=open_run, ready=plots_ready)
    )


def test_detail_unreadable_log(snap_compare, seeded_path):
    def open_run(pilot: Pilot[None]) -> None:
        pilot.app.push_screen(RunDetailScreen(RUNS["crashed"]))

    assert snap_compare(
        app_at(seeded_path), terminal_size=SIZE, run_before=keys("7", before=open_run, ready=detail_ready)
    )


def test_diff_values(snap_compare, seeded_path):
    def open_diff(pilot: Pilot[None]) -> None:
        pilot.app.push_screen(DiffScreen([RUNS["baseline"], RUNS["wider"], RUNS["sgd"]]))

    assert snap_compare(
        app_at(seeded_path), terminal_size=SIZE, run_before=keys(before=open_diff, ready=diff_ready)
    )


def test_diff_curves(snap_compare, seeded_path):
    def open_diff(pilot: Pilot[None]) -> None:
        pilot.app.push_screen(DiffScreen([RUNS["baseline"], RUNS["wider"]]))

    assert snap_compare(
        app_at(seeded_path), terminal_size=SIZE, run_before=keys("2", before=open_diff, ready=diff_ready)
    )


def test_help(snap_compare, seeded_path):
    assert snap_compare(app_at(seeded_path), terminal_size=SIZE, run_before=keys("question_mark"))


def test_delete_confirmation(snap_compare, seeded_path):
    assert snap_compare(app_at(seeded_path), terminal_size=SIZE, run_before=keys("D"))


def test_no_ledger_yet(snap_compare, tmp_path):
    app = LedgerApp(Services(store=None, ledger_file=tmp_path / "missing.db", clock=lambda: BASE))
    assert snap_compare(app, terminal_size=SIZE, run_before=keys())


def test_empty_ledger(snap_compare, ledger_path):
    from ledger.store.engine import connect

    store = connect(f"sqlite:///{ledger_path}", upgrade=True)
    app = LedgerApp(Services(store=store, clock=lambda: BASE))
    assert snap_compare(app, terminal_size=SIZE, run_before=keys())
