"""The reproduce action: present only where `ledger reproduce` exists, plan shown before running."""

from __future__ import annotations

import os

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
        pytest.skip("this installation has no ledger.reproduce.command")
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
        assert f"-m ledger.reproduce.command {RUNS['baseline']}" in str(
            screen.query_one("#repro-command", Static).content
        )
        assert screen.query_one(TextView).status == "the plan (nothing has run yet)"
        await pilot.press("escape")
        assert isinstance(app.screen, RunDetailScreen)


async def test_reproduce_from_the_ui_runs_the_recorded_interpreter_not_the_one_on_path(
    tmp_repo, tmp_path, ledger_path, monkeypatch, wait_for_workers
):
    """Started by an absolute path, with another `python` first on PATH, the UI's
    reproduction runs the interpreter the run used, and the verdict is the CLI's."""
    from ledger.store.engine import connect
    from tests.helpers import ledger_process, runs_json, show_json
    from tests.tui.snapshot_app import app_on

    if not reproduce_available():
        pytest.skip("this installation has no ledger.reproduce.command")
    monkeypatch.setenv("LEDGER_URL", f"sqlite:///{ledger_path}")
    tmp_repo.gen(
        {"train.py": "import json, sys\njson.dump({'prefix': len(sys.prefix)}, open('metrics.json', 'w'))\n"}
    )
    tmp_repo.commit("train")
    ledger_process("run", "--", "python", "train.py")
    original = runs_json()[0]["id"]
    other = tmp_path / "other-bin"
    other.mkdir()
    (other / "python").symlink_to("/usr/bin/python3")
    monkeypatch.setenv("PATH", f"{other}:{os.environ['PATH']}")
    app = app_on(connect(f"sqlite:///{ledger_path}"), ledger_path, root=tmp_repo.root)

    async with app.run_test(size=SIZE) as pilot:
        await wait_for_workers(pilot)
        app.push_screen(RunDetailScreen(original))
        await wait_for_workers(pilot)
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, ReproduceScreen)
        for _ in range(600):
            await pilot.pause(0.1)
            if screen.state != "planning":
                break
        assert screen.state == "confirm"
        await pilot.click("#run")
        for _ in range(1800):
            await pilot.pause(0.1)
            if screen.state == "done":
                break
        text = str(screen.query_one("#repro-verdict", Static).content)

    assert screen.state == "done"
    assert text.startswith("reproduced: it matched"), text
    recorded = show_json(original)["run"]["interpreter"]
    new = next(r for r in runs_json() if r["id"] != original)
    assert show_json(new["id"])["run"]["interpreter"] == recorded
    assert (
        show_json(new["id"])["run"]["summary"]["metrics"] == show_json(original)["run"]["summary"]["metrics"]
    )
