"""Fixtures of the TUI tests: a seeded ledger file, the app on it, waiting for workers."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest
from textual.worker import WorkerCancelled, WorkerFailed

from tests.tui.snapshot_app import make_app

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from textual.pilot import Pilot

    from ledger.tui.app import LedgerApp


async def settle(pilot: Pilot[None]) -> None:
    """Wait until workers, and the messages they post, have run (workers start workers)."""
    for _ in range(4):
        # An exclusive worker cancelled by a newer one raises here; its successor is awaited next round.
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


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


@pytest.fixture
def app(ledger_path: Path) -> LedgerApp:
    """The app on the six-run seeded ledger, with a frozen clock."""
    return make_app(ledger_path)


@pytest.fixture
def wait_for_workers() -> Callable[[Pilot[None]], Awaitable[None]]:
    """`await wait_for_workers(pilot)`: let every worker finish and its results land."""
    return settle
