"""The reads and writes the UI adds to the core: `ledger.read.windows` and `ledger.store.archive`."""

from __future__ import annotations

import contextlib
import math
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import make_url

from ledger.core import records
from ledger.core.filters import parse_filter, parse_sort
from ledger.core.ids import RunId
from ledger.git import display
from ledger.read import queries, windows_sqlite
from ledger.read import windows as ui_queries
from ledger.store import archive
from ledger.store import writes as recorder
from tests.conftest import pg_database_copy
from tests.tui.snapshot_app import BASE, RUNS, make_repo, seed, seed_many

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from ledger.store.engine import Store

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def _pg_seeded_template(_pg_template: str) -> Iterator[str]:
    """A PostgreSQL database holding the six seeded runs, made once per session (per xdist
    worker): each test's database is a copy of it, where seeding anew took a round trip
    per write."""
    from ledger.store.engine import connect

    with pg_database_copy(_pg_template) as url:
        store = connect(url, upgrade=True)
        seed(store)
        store.close()  # a template must have no connection left when it is copied
        yield make_url(url).database or ""


def _seeded_store(request: pytest.FixtureRequest, folder: Path) -> Iterator[Store]:
    """A ledger of its own holding the six seeded runs, on the backend of `request.param`."""
    from ledger.store.engine import connect

    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            path = folder / "ledger.db"
            shutil.copyfile(request.getfixturevalue("seeded_template"), path)
            url = f"sqlite:///{path}"
        else:
            url = stack.enter_context(pg_database_copy(request.getfixturevalue("_pg_seeded_template")))
        store = connect(url, upgrade=True)
        stack.callback(store.close)
        yield store


@pytest.fixture(params=BACKENDS)
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The six seeded runs, for a test that changes them."""
    yield from _seeded_store(request, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def read_only(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The six seeded runs, shared by the tests of this module that only read them."""
    yield from _seeded_store(request, tmp_path_factory.mktemp("read-only"))


def test_list_page_orders_like_ledger_list(read_only):
    page = ui_queries.list_page(read_only, limit=10)

    assert [r.id for r in page.runs] == [r.id for r in queries.list_runs(read_only, limit=10)]
    assert page.archived == frozenset()


def test_list_page_windows_a_sorted_filtered_result(read_only):
    where, sort = parse_filter("has:metrics.acc"), [parse_sort("-metrics.acc")]

    first = ui_queries.list_page(read_only, where=where, sort=sort, limit=2, metrics=["acc"])
    second = ui_queries.list_page(read_only, where=where, sort=sort, offset=2, limit=2, metrics=["acc"])

    assert [r.id for r in first.runs] == [RUNS["wider"], RUNS["baseline"]]
    assert [r.id for r in second.runs] == [RUNS["commit"], RUNS["live"]]
    assert first.runs[0].metrics == {"acc": 0.86}


def test_archived_runs_are_left_out_unless_asked(seeded):
    assert archive.set_archived(seeded, [RUNS["wider"]]) == 1

    shown = ui_queries.list_page(seeded)
    everything = ui_queries.list_page(seeded, include_archived=True)

    assert RUNS["wider"] not in [r.id for r in shown.runs]
    assert RUNS["wider"] in [r.id for r in everything.runs]
    assert everything.archived == {RUNS["wider"]}
    assert ui_queries.count_matching(seeded) == 5
    assert ui_queries.count_matching(seeded, include_archived=True) == 6


def test_restoring_an_archived_run(seeded):
    archive.set_archived(seeded, [RUNS["wider"]])

    assert archive.set_archived(seeded, [RUNS["wider"], RUNS["sgd"]], archived=False) == 1
    assert ui_queries.count_matching(seeded) == 6


def test_count_matching_applies_the_filter(read_only):
    assert ui_queries.count_matching(read_only, where=parse_filter("metrics.acc > 0.8")) == 2


def test_change_marker_moves_when_a_run_lands_or_finishes(seeded):
    before = ui_queries.change_marker(seeded)
    recorder.set_status(seeded, RUNS["live"], status="finished", ended_at=BASE + 99_999)
    finished = ui_queries.change_marker(seeded)
    recorder.create_run(seeded, records.NewRun(id=RunId("f" * 32), source="run", started_at=BASE + 86400))
    added = ui_queries.change_marker(seeded)

    assert before.running == ((RUNS["live"], before.running[0][1]),)
    assert finished != before
    assert finished.running == ()
    assert added.count == 7
    assert added.newest == BASE + 86400


def test_sparklines_squeeze_each_series(read_only):
    sparks = ui_queries.sparklines(read_only, [RUNS["baseline"], RUNS["crashed"]], "loss", width=5)

    assert set(sparks) == {RUNS["baseline"]}
    assert len(sparks[RUNS["baseline"]]) == 5
    assert sparks[RUNS["baseline"]][0] > sparks[RUNS["baseline"]][-1]


@pytest.mark.parametrize(
    ("values", "width", "expected"),
    [
        ([1.0, 2.0], 5, (1.0, 2.0)),
        ([1.0, 3.0, 5.0, 7.0], 2, (2.0, 6.0)),
        ([float("nan"), float("nan"), 1.0, 3.0], 2, (math.nan, 2.0)),
        ([], 3, ()),
    ],
    ids=["short", "means", "nan-bucket", "empty"],
)
def test_downsample(values, width, expected):
    got = windows_sqlite.downsample(values, width)

    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert (math.isnan(g) and math.isnan(e)) or g == e


def test_series_counts(read_only):
    counts = ui_queries.series_counts(read_only, list(RUNS.values()))

    assert counts == {"loss": 4, "acc": 2}


def test_key_catalog_walks_distinct_keys(read_only):
    catalog = ui_queries.key_catalog(read_only)

    assert catalog.params == ("batch_size", "lr", "optimizer")
    assert catalog.metrics == ("acc", "loss")
    assert catalog.series == ("acc", "loss")
    assert ui_queries.key_catalog(read_only, limit=1).params == ("batch_size",)


def test_read_log_turns_a_damaged_log_into_a_problem(read_only):
    assert (
        ui_queries.read_log(read_only, RUNS["baseline"]).text
        == "epoch 1 loss 0.9\nepoch 2 loss 0.7\ndone: acc 0.81\n"
    )
    assert "cannot be read" in (ui_queries.read_log(read_only, RUNS["crashed"]).problem or "")
    assert ui_queries.read_log(read_only, RUNS["live"]).problem == "this run has no captured output"


def test_reproductions_both_ways(seeded):
    from ledger.store import tables

    with seeded.writing() as session:
        session.add(
            tables.ReproductionRow(
                run_id=RUNS["wider"], original_id=RUNS["baseline"], matched=True, created_at=BASE
            )
        )

    links = ui_queries.reproductions(seeded, RUNS["baseline"])

    assert [(link.run_id, link.original_id, link.matched) for link in links] == [
        (RUNS["wider"], RUNS["baseline"], True)
    ]
    assert ui_queries.reproductions(seeded, RUNS["wider"]) == links


@pytest.mark.integration
def test_commit_subjects_and_snapshot_patch(tmp_path, store):
    commits = make_repo(tmp_path / "repo")
    seed(store, commits=commits)
    root = tmp_path / "repo"

    subjects = display.commit_subjects(root, [commits["baseline"], "0" * 40])
    patch = display.snapshot_patch(root, queries.get_run(store, RUNS["baseline"]))
    missing = display.snapshot_patch(root, queries.get_run(store, RUNS["sgd"]))

    assert subjects == {commits["baseline"]: "Train with adam"}
    assert patch.problem is None
    assert "+batch = 32" in patch.text
    assert "not in this repository" in (missing.problem or "")
    assert display.commit_subjects(None, [commits["baseline"]]) == {}


def test_delete_runs_takes_every_child_row_and_unused_environments(seeded):
    from sqlalchemy import func, select

    from ledger.store import tables

    report = archive.delete_runs(seeded, [RUNS["baseline"], RUNS["sgd"]])

    assert report.runs == 2
    with seeded.reading() as session:
        for model in (
            tables.ParamRow,
            tables.MetricRow,
            tables.SeriesRow,
            tables.TagRow,
            tables.LogRow,
            tables.DataRefRow,
        ):
            left = session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.run_id.in_([RUNS["baseline"], RUNS["sgd"]]))
            )
            assert left == 0, model.__tablename__
        assert (
            session.scalar(select(func.count()).select_from(tables.MetricChunkRow)) > 0
        )  # others keep theirs
        digests = set(session.scalars(select(tables.EnvironmentRow.digest)))
    assert len(digests) == 1  # ENV_A was only used by the deleted runs


@pytest.mark.integration
def test_delete_runs_removes_snapshot_refs(tmp_path, store):
    commits = make_repo(tmp_path / "repo")
    root = tmp_path / "repo"
    seed(store, commits=commits)
    subprocess.run(
        ["git", "update-ref", f"refs/ledger/runs/{RUNS['baseline']}", commits["snapshot"]],
        cwd=root,
        check=True,
    )

    report = archive.delete_runs(store, [RUNS["baseline"]], root=root)

    refs = subprocess.run(
        ["git", "for-each-ref", "refs/ledger/runs/"], cwd=root, capture_output=True, text=True
    )
    assert report == archive.DeleteReport(runs=1, refs=1)
    assert RUNS["baseline"] not in refs.stdout


def test_paging_a_larger_ledger_never_repeats_a_run(store):
    ids = seed_many(store, 23)

    seen = []
    for offset in range(0, 23, 10):
        seen += [r.id for r in ui_queries.list_page(store, offset=offset, limit=10).runs]

    assert seen == ids[::-1]
