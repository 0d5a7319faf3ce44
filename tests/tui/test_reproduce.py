"""The reproduce action: present only where `ledger reproduce` exists, plan shown before running."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from ledger.tui.screens.detail import RunDetailScreen
from ledger.tui.screens.reproduce import ReproduceScreen
from ledger.tui.screens.run_actions import reproduce_available
from ledger.tui.widgets.text_view import TextView
from tests.tui.snapshot_app import RUNS, SIZE, make_app, make_repo

pytestmark = [pytest.mark.tui, pytest.mark.slow]


@pytest.fixture
def repo_app(tmp_path, ledger_path, monkeypatch):
    if not reproduce_available():
        pytest.skip("this installation has no ledger.reproduce")
    root = tmp_path / "repo"
    commits = make_repo(root)
    monkeypatch.setenv("LEDGER_URL", f"sqlite:///{ledger_path}")
    monkeypatch.chdir(root)
    return make_app(ledger_path, root=root, commits=commits)


async def test_reproduce_shows_the_command_and_plan_before_running_anything(repo_app, wait_for_workers):
    app = repo_app
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        app.push_screen(RunDetailScreen(RUNS["baseline"]))
        await wait_for_workers(pilot)
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, ReproduceScreen)
        for _ in range(300):
            await pilot.pause(0.1)
            if screen.state != "planning":
                break

        assert screen.state in ("confirm", "refused")
        assert f"-m ledger.reproduce {RUNS['baseline']}" in str(
            screen.query_one("#repro-command", Static).content
        )
        assert screen.query_one(TextView).status == "the plan (nothing has run yet)"
        await pilot.press("escape")
        assert isinstance(app.screen, RunDetailScreen)
