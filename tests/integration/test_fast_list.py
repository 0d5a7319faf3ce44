"""`ledger.read.sqlite_snapshot` lists exactly what `ledger.read.queries.list_runs` lists, or declines.

Every filter of the store tests, under several sorts, limits and column choices,
goes through both paths over the same real SQLite ledger.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from ledger.commits import inbox
from ledger.core.config import load_config
from ledger.core.filters import parse_filter, parse_sort
from ledger.core.records import NewRun
from ledger.delivery import handover, spool
from ledger.read import queries
from ledger.read import sqlite_snapshot as fast_list
from ledger.store import archive, writes
from ledger.store.engine import connect
from ledger.store.workspace import Workspace, locate
from tests.integration.test_listing import FILTER_CASES
from tests.integration.test_store import make_id, seed_runs

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from ledger.store.engine import Store

pytestmark = pytest.mark.integration

FILTERS = [
    "",
    *(text for text, _ in FILTER_CASES),
    "not branch:main",
    "not exit_code = 0",
    "name ~ '50%'",
    "name ~ a_b",
    "metrics.acc < inf",
    "params.lr > -1e9",
]

SORTS = [
    [],
    ["-metrics.acc"],
    ["metrics.loss"],
    ["-params.epochs"],
    ["params.lr"],
    ["-duration"],
    ["name"],
    ["status", "-metrics.acc"],
    ["user", "-started"],
    ["exit_code:desc", "metrics.loss"],
]


@pytest.fixture
def ledger_file(tmp_path: Path) -> Iterator[tuple[Store, Workspace]]:
    """The store tests' four runs (and names with LIKE wildcards) in a SQLite file."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = connect(url, upgrade=True)
    seed_runs(store)
    for index, name in enumerate(("50%", "500", "a_b", "axb")):
        writes.create_run(
            store,
            NewRun(
                id=make_id(f"0191{index:04d}"), source="run", started_at=1.0, name=name, status="finished"
            ),
        )
    writes.heartbeat(store, make_id("0190dddd"))  # the running run: alive on its host
    yield store, Workspace(repo=None, config=load_config(None), url=url, spool_dir=tmp_path / "spool")
    store.close()


def _both(store: Store, ws: Workspace, text: str, sort: Sequence[str], **kwargs: Any) -> tuple[str, str]:
    query: dict[str, Any] = {
        "where": parse_filter(text),
        "sort": [parse_sort(k) for k in sort],
        "limit": None,
        "params": ["*"],
        "metrics": ["*"],
        "include_archived": True,
        **kwargs,
    }
    quick = fast_list.list_runs(ws, **query)
    assert quick is not None, "the fast path declined"
    # repr: NaN metrics are equal there, and a True param is told from a 1.
    return repr(quick), repr(queries.list_runs(store, **query))


@pytest.mark.parametrize("text", FILTERS, ids=[t or "everything" for t in FILTERS])
def test_every_filter_and_sort_lists_what_the_full_path_lists(
    ledger_file: tuple[Store, Workspace], text: str
) -> None:
    store, ws = ledger_file
    for sort in SORTS:
        quick, full = _both(store, ws, text, sort)
        assert quick == full, sort


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 2},
        {"limit": 0},
        {"include_archived": False},
        {"params": ["lr", "model"], "metrics": ["acc"]},
        {"params": [], "metrics": []},
    ],
    ids=["limit", "zero-limit", "without-archived", "named-columns", "no-columns"],
)
def test_limits_archive_and_columns_match(
    ledger_file: tuple[Store, Workspace], kwargs: dict[str, Any]
) -> None:
    store, ws = ledger_file
    archive.set_archived(store, [make_id("0190aaaa")], archived=True)

    quick, full = _both(store, ws, "", ["-metrics.acc"], **kwargs)

    assert quick == full


def test_declines_while_hook_events_wait(ledger_file: tuple[Store, Workspace], tmp_path: Path) -> None:
    store, _ = ledger_file
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    ws = locate(tmp_path / "repo")
    ws = Workspace(repo=ws.repo, config=ws.config, url=store.url, spool_dir=ws.spool_dir)
    assert ws.repo is not None
    assert fast_list.list_runs(ws, **_EVERYTHING) is not None

    inbox.post(ws.repo.common_dir, {"kind": "commit", "sha": "0" * 40})

    assert fast_list.list_runs(ws, **_EVERYTHING) is None


def test_declines_when_a_run_died_without_saying_so(ledger_file: tuple[Store, Workspace]) -> None:
    store, ws = ledger_file
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    writes.create_run(
        store,
        NewRun(
            id=make_id("0192aaaa"),
            source="run",
            started_at=1.0,
            host=socket.gethostname(),
            pid=int(dead.stdout),
        ),
    )

    assert fast_list.list_runs(ws, **_EVERYTHING) is None


def test_declines_while_a_handed_over_run_waits(ledger_file: tuple[Store, Workspace]) -> None:
    store, ws = ledger_file
    run = NewRun(id=make_id("0193aaaa"), source="run", started_at=1.0)
    handover.write_start(spool.run_dir(ws.spool_dir, run.id), store.url, run)  # no recorder holds it

    assert fast_list.list_runs(ws, **_EVERYTHING) is None


def test_declines_other_databases(ledger_file: tuple[Store, Workspace]) -> None:
    _, ws = ledger_file
    for url in ("postgresql+psycopg://nobody@127.0.0.1:1/none", ws.url + ".missing", ws.url + "?timeout=5"):
        other = Workspace(repo=None, config=ws.config, url=url, spool_dir=ws.spool_dir)
        assert fast_list.list_runs(other, **_EVERYTHING) is None


_EVERYTHING: dict[str, Any] = {
    "where": None,
    "sort": [],
    "limit": None,
    "params": ["*"],
    "metrics": ["*"],
    "include_archived": True,
}
