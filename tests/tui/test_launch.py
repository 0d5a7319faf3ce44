"""`ledger ui`'s start: the first page before SQLAlchemy, the store opened after it.

The first paint must come within a second; importing SQLAlchemy and the models
takes a large share of that. These tests hold the start to its design: a SQLite
ledger that needs no write shows its first page from the stdlib path, the store
then opens in a worker and takes writes; anything else opens the store first.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from ledger.commits import inbox
from ledger.core import records
from ledger.core.ids import RunId
from ledger.store import writes as recorder
from ledger.store.engine import connect
from ledger.tui.app import LedgerApp, open_services
from ledger.tui.widgets.runs_table import RunsTable
from tests.tui.conftest import repo_ledger
from tests.tui.snapshot_app import RUNS

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.tui

PROBE = """
import asyncio, json, sqlite3, sys
from ledger.tui.app import LedgerApp, open_services
from ledger.tui.screens.runs import RunsScreen
from ledger.tui.widgets.runs_table import RunsTable

seen = {}
shown = RunsScreen.on_page_loaded

def on_page_loaded(self, message):
    seen.setdefault("sqlalchemy_at_first_page", "sqlalchemy" in sys.modules)
    seen.setdefault("rows_at_first_page", len(message.rows))
    shown(self, message)

RunsScreen.on_page_loaded = on_page_loaded  # the real handler runs; this notes the moment

def tagged(path):
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM tags WHERE tag = 'lazy'").fetchone()[0] > 0

async def main():
    services = open_services("")
    seen["opened_before_the_app"] = services.store is not None
    app = LedgerApp(services)
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.screen.query_one(RunsTable)
        while not table.loaded_keys() or app.screen.total is None:
            await pilot.pause(0.01)
        seen["total"] = app.screen.total
        seen["first_row"] = table.cursor_key
        await pilot.press("t", *"lazy", "enter")
        for _ in range(600):  # the write's worker opens the store first
            if tagged(services.ledger_file):
                break
            await pilot.pause(0.05)
    seen["sqlalchemy_at_the_end"] = "sqlalchemy" in sys.modules
    print(json.dumps(seen))

asyncio.run(main())
"""


def test_the_first_page_is_shown_before_sqlalchemy_is_imported(
    tmp_repo: TmpRepo, seeded_template: Path
) -> None:
    url = repo_ledger(tmp_repo, seeded_template)
    env = {k: v for k, v in os.environ.items() if k != "LEDGER_URL"}

    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_repo.root, env=env, capture_output=True, text=True, timeout=120
    )

    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["opened_before_the_app"] is False
    assert seen["sqlalchemy_at_first_page"] is False
    assert seen["rows_at_first_page"] == seen["total"] == len(RUNS)
    # The store opened after the first page, and a write went through it.
    assert seen["sqlalchemy_at_the_end"] is True
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        tagged = [row[0] for row in conn.execute("SELECT run_id FROM tags WHERE tag = 'lazy'")]
    assert tagged == [seen["first_row"]]


def test_a_ledger_with_hook_events_waiting_is_opened_before_the_app(
    tmp_repo: TmpRepo, seeded_template: Path, monkeypatch
) -> None:
    repo_ledger(tmp_repo, seeded_template)
    monkeypatch.chdir(tmp_repo.root)
    monkeypatch.delenv("LEDGER_URL", raising=False)
    quick = open_services("")
    assert quick.store is None
    assert quick.open_store is not None

    inbox.post(tmp_repo.root / ".git", {"kind": "commit", "sha": "0" * 40})
    services = open_services("")

    assert services.store is not None
    assert services.open_store is None
    assert services.prefetch is not None
    services.store.close()


def test_no_ledger_file_opens_nothing(tmp_repo: TmpRepo, monkeypatch) -> None:
    monkeypatch.chdir(tmp_repo.root)
    monkeypatch.delenv("LEDGER_URL", raising=False)

    services = open_services("")

    assert (services.store, services.open_store, services.prefetch) == (None, None, None)
    assert services.ledger_file is not None
    assert not services.ledger_file.exists()


async def test_a_run_landing_between_the_first_page_and_the_first_poll_is_shown(
    tmp_repo: TmpRepo, tmp_path: Path, migrated_ledger: Callable[[Path], Path], monkeypatch
) -> None:
    """The polls' baseline is read with the first page, not after it.

    Only finished runs: nothing else (a dead run marked crashed) changes the ledger.
    """
    url = repo_ledger(tmp_repo, migrated_ledger(tmp_path / "migrated.db"))
    store = connect(url)
    for index in range(3):
        run = records.NewRun(
            id=RunId(f"{index:032x}"), source="run", started_at=1e9 + index, status="finished"
        )
        recorder.create_run(store, run)
    store.close()
    monkeypatch.chdir(tmp_repo.root)
    monkeypatch.delenv("LEDGER_URL", raising=False)
    services = open_services("")
    assert services.open_store is not None  # the stdlib first page
    late = RunId("f" * 32)
    store = connect(url)
    recorder.create_run(
        store, records.NewRun(id=late, source="run", started_at=time.time(), status="finished")
    )
    store.close()

    app = LedgerApp(replace(services, poll_interval=0.1))
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.screen.query_one(RunsTable)
        for _ in range(50):
            await pilot.pause(0.1)
            if late in table.loaded_keys():
                break

        assert table.loaded_keys()[0] == late
        assert table.total == 4
