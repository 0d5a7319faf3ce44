"""Fixtures of the TUI tests: a seeded ledger file, the app on it, waiting for workers."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest
from textual.worker import WorkerCancelled, WorkerFailed

from ledger.core.urls import sqlite_file
from ledger.store.workspace import locate
from tests.projects import place_file
from tests.tui.snapshot_app import app_at, seed

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from textual.pilot import Pilot

    from ledger.tui.app import LedgerApp
    from tests.repo import TmpRepo


async def settle(pilot: Pilot[None]) -> None:
    """Wait until workers, and the messages they post, have run (workers start workers).

    Up to four rounds; two rounds in a row with no worker before or after them end it
    early: the messages of the last worker ran in the first, the second found no new one.
    """
    quiet = 0
    for _ in range(4):
        busy = bool(pilot.app.workers)
        # An exclusive worker cancelled by a newer one raises here; its successor is awaited next round.
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        quiet = 0 if busy or pilot.app.workers else quiet + 1
        if quiet == 2:
            return


async def until(pilot: Pilot[None], ready: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Let the app run until `ready()` holds (a screen's data arrived), then settle."""
    waited = 0.0
    while not ready():
        if waited > timeout:
            raise AssertionError("the app never got ready")
        await pilot.pause(0.05)
        waited += 0.05
    await settle(pilot)


@pytest.fixture
def ledger_path(tmp_path: Path, migrated_ledger: Callable[[Path], Path]) -> Path:
    """The test's ledger file: empty, at the schema head."""
    return migrated_ledger(tmp_path / "ledger" / "ledger.db")


@pytest.fixture(scope="session")
def seeded_template(
    tmp_path_factory: pytest.TempPathFactory, migrated_ledger: Callable[[Path], Path]
) -> Path:
    """The six-run ledger, seeded once per session (per xdist worker): a copy of the file
    costs far less than seeding each test's ledger anew, a commit per write."""
    from ledger.store.engine import connect

    path = migrated_ledger(tmp_path_factory.mktemp("seeded-template") / "ledger.db")
    store = connect(f"sqlite:///{path}", upgrade=True)
    seed(store)
    store.close()
    leftovers = sorted(p.name for p in path.parent.iterdir() if p != path)
    assert leftovers == [], f"the closed template left {leftovers}: copying the file alone would lose them"
    return path


def repo_ledger(repo: TmpRepo, template: Path) -> str:
    """A copy of the ledger file `template` where `ledger run` in `repo` keeps its ledger; its URL."""
    url = locate(repo.root).url
    path = sqlite_file(url)
    assert path is not None, url
    place_file(template, path)
    return url


@pytest.fixture
def seeded_path(tmp_path: Path, seeded_template: Path) -> Path:
    """The test's ledger file: the six seeded runs (`snapshot_app.seed`), a copy of its own."""
    return place_file(seeded_template, tmp_path / "ledger" / "ledger.db")


@pytest.fixture
def app(seeded_path: Path) -> LedgerApp:
    """The app on the six-run seeded ledger, with a frozen clock."""
    return app_at(seeded_path)


@pytest.fixture
def wait_for_workers() -> Callable[[Pilot[None]], Awaitable[None]]:
    """`await wait_for_workers(pilot)`: let every worker finish and its results land."""
    return settle
