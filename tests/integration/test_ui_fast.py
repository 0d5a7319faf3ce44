"""`ledger ui`'s first page through the stdlib (`ledger.read.windows_sqlite`, `SnapshotReader`) holds what
the store's reads (`ledger.read.windows`, `StoreReader`) would show: the same runs in the same
order, the same counts, sparklines and series counts, over the same real SQLite ledger.
"""

from __future__ import annotations

import math
from array import array
from typing import TYPE_CHECKING, Any

import pytest

from ledger.core import chunks
from ledger.core.filters import parse_filter, parse_sort
from ledger.read import sqlite_snapshot
from ledger.store import archive, writes
from ledger.tui.readers import SnapshotReader, StoreReader
from ledger.tui.services import StoreHandle
from tests.integration.test_fast_list import FILTERS, SORTS, ledger_file  # noqa: F401
from tests.integration.test_store import make_id

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace

pytestmark = pytest.mark.integration

Readers = tuple[SnapshotReader, StoreReader]


@pytest.fixture
def readers(ledger_file: tuple[Store, Workspace]) -> Iterator[Readers]:  # noqa: F811
    """Both readers over the ledger, which has series (one damaged) and an archived run."""
    store, ws = ledger_file
    for index, run in enumerate(("0190aaaa", "0190bbbb", "0190cccc")):
        steps = array("q", range(index * 40, 40 + index * 40))
        loss = chunks.Points(steps, array("q", [0] * len(steps)), array("d", [1 / (s + 1) for s in steps]))
        writes.add_points(store, make_id(run), {"loss": loss})
        writes.add_points(store, make_id(run), {"loss": loss})  # a second chunk: merged in order
        if index < 2:
            writes.add_points(store, make_id(run), {"acc": loss})
    writes.add_points(
        store,
        make_id("0190bbbb"),
        {"lr": chunks.Points(array("q", [0]), array("q", [0]), array("d", [math.nan]))},
    )
    with store.engine.begin() as conn:  # a chunk no codec reads: that sparkline loses it, nothing else
        conn.exec_driver_sql("UPDATE metric_chunks SET codec = 'zz' WHERE id = 1")
    archive.set_archived(store, [make_id("01910001")], archived=True)
    with sqlite_snapshot.snapshot(ws) as conn:
        assert conn is not None, "the stdlib path declined"
        yield SnapshotReader(conn), StoreReader(StoreHandle(store))


@pytest.mark.parametrize("text", FILTERS, ids=[t or "everything" for t in FILTERS])
def test_the_first_page_and_count_match_for_every_filter_and_sort(readers: Readers, text: str) -> None:
    quick, full = readers
    where = parse_filter(text)
    for sort in SORTS:
        query: dict[str, Any] = {
            "where": where,
            "sort": [parse_sort(k) for k in sort],
            "offset": 0,
            "limit": 100,
            "params": ["*"],
            "metrics": ["*"],
            "include_archived": False,
        }
        # repr: NaN metrics are equal there, and a True param is told from a 1.
        assert repr(quick.page(**query)) == repr(full.page(**query)), sort
    assert quick.count_matching(where=where, include_archived=False) == full.count_matching(
        where=where, include_archived=False
    )


@pytest.mark.parametrize(
    ("limit", "params", "metrics"),
    [(2, ["*"], ["*"]), (0, ["*"], ["*"]), (100, ["lr", "model"], ["acc"]), (100, [], [])],
    ids=["limit", "zero-limit", "named-columns", "no-columns"],
)
def test_limits_and_columns_match(
    readers: Readers, limit: int, params: list[str], metrics: list[str]
) -> None:
    quick, full = readers
    query: dict[str, Any] = {
        "where": None, "sort": [parse_sort("-metrics.acc")], "offset": 0, "limit": limit,
        "params": params, "metrics": metrics, "include_archived": False,
    }  # fmt: skip

    assert repr(quick.page(**query)) == repr(full.page(**query))


def test_sparklines_series_counts_and_the_ledger_total_match(readers: Readers) -> None:
    quick, full = readers
    ids = [r.id for r in full.page(where=None, sort=[], offset=0, limit=100, params=[], metrics=[],
                                   include_archived=False).runs]  # fmt: skip

    for key in ("loss", "acc", "lr", "absent"):
        for width in (0, 5, 12, 200):
            assert repr(quick.sparklines(ids, key, width=width)) == repr(
                full.sparklines(ids, key, width=width)
            )
    assert quick.series_counts(ids) == full.series_counts(ids) == {"loss": 3, "acc": 2, "lr": 1}
    assert quick.count_all() == full.count_all()
    # One of its two chunks is damaged: the run keeps a sparkline from the other.
    assert make_id("0190aaaa") in quick.sparklines(ids, "loss", width=5)


def test_later_pages_and_archived_runs_are_left_to_the_store(readers: Readers) -> None:
    quick, _ = readers
    common: dict[str, Any] = {"where": None, "sort": [], "limit": 10, "params": [], "metrics": []}

    with pytest.raises(ValueError, match="first page"):
        quick.page(offset=10, include_archived=False, **common)
    with pytest.raises(ValueError, match="first page"):
        quick.page(offset=0, include_archived=True, **common)
    with pytest.raises(ValueError, match="unarchived"):
        quick.count_matching(where=None, include_archived=True)


def test_the_change_marker_matches(readers: Readers, ledger_file: tuple[Store, Workspace]) -> None:  # noqa: F811
    quick, full = readers

    assert quick.marker() == full.marker()
    assert quick.marker().running  # the fixture's running run is in it, with its heartbeat
