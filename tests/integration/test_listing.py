"""Listing runs, the same whole suite through every read path of the one listing SQL.

`ledger.read.listing` writes one SQL text; three paths execute it and must give the
runs each test names: the standard library's sqlite3 on a SQLite file (`ledger list`
and the UI's first page), SQLAlchemy on the same kind of file, and SQLAlchemy on
PostgreSQL (skipped when LEDGER_TEST_PG_URL is unset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from ledger.core.config import load_config
from ledger.core.filters import parse_filter, parse_sort
from ledger.read import listing, queries, sqlite_snapshot
from ledger.read.sql_dialect import SQLITE
from ledger.store.engine import Store, connect
from ledger.store.workspace import Workspace
from ledger.store.writes import heartbeat
from tests.integration.test_store import make_id, names, seed_runs, started

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from ledger.core.filters import Expr, SortKey
    from ledger.core.summary import RunSummary

pytestmark = pytest.mark.integration

PATHS = ["sqlite-stdlib", "sqlite-sqlalchemy", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Ledger:
    """A ledger and the read path a test lists it through; `store` writes to it."""

    path: str
    store: Store
    ws: Workspace

    def list_runs(
        self,
        *,
        where: Expr | None = None,
        sort: Sequence[SortKey] = (),
        limit: int | None = 50,
        offset: int = 0,
        params: Sequence[str] = (),
        metrics: Sequence[str] = (),
        include_archived: bool = True,
    ) -> list[RunSummary]:
        query: dict[str, Any] = {
            "where": where, "sort": sort, "limit": limit, "offset": offset,
            "params": params, "metrics": metrics, "include_archived": include_archived,
        }  # fmt: skip
        if self.path != "sqlite-stdlib":
            return queries.list_runs(self.store, **query)
        with sqlite_snapshot.snapshot(self.ws) as conn:
            assert conn is not None, "the stdlib path declined"
            runs, _ = listing.read_page(conn.execute, SQLITE, **query)
        return runs

    def count_runs(self, *, where: Expr | None = None) -> int:
        if self.path != "sqlite-stdlib":
            return queries.count_runs(self.store, where=where)
        with sqlite_snapshot.snapshot(self.ws) as conn:
            assert conn is not None, "the stdlib path declined"
            sql, args = listing.count_sql(where, SQLITE, include_archived=True)
            return int(conn.execute(sql, args).fetchone()[0])


@pytest.fixture(params=PATHS)
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """An empty ledger, read through the path the test's parameter names: a copy of one
    migrated once per worker, as the `store` fixture's."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_migrated_url")
    else:
        url = f"sqlite:///{request.getfixturevalue('migrated_ledger')(tmp_path / 'l.db')}"
    yield from _opened(request.param, url, tmp_path)


@pytest.fixture(scope="module", params=PATHS)
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """The store tests' four runs, the running one alive on its host so no path declines;
    written once for the module, since every test that takes it only reads."""
    folder = tmp_path_factory.mktemp("seeded")
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_migrated_url_for_module")
    else:
        url = f"sqlite:///{request.getfixturevalue('migrated_ledger')(folder / 'l.db')}"
    for ledger in _opened(request.param, url, folder):
        seed_runs(ledger.store)
        heartbeat(ledger.store, make_id("0190dddd"))
        yield ledger


def _opened(path: str, url: str, folder: Path) -> Iterator[Ledger]:
    store = connect(url, upgrade=True)
    ws = Workspace(repo=None, config=load_config(None), url=url, spool_dir=folder / "spool")
    try:
        yield Ledger(path, store, ws)
    finally:
        store.close()


# list_runs filters


FILTER_CASES: list[tuple[str, set[str]]] = [
    # Compare on metrics
    ("metrics.acc > 0.92", {"beta"}),
    ("metrics.acc >= 0.9", {"alpha", "beta"}),
    ("metrics.acc < 0.95", {"alpha"}),
    ("metrics.acc <= 0.95", {"alpha", "beta"}),
    ("metrics.acc = 0.9", {"alpha"}),
    ("metrics.acc != 0.9", {"beta"}),
    ("metrics.loss < 1", {"alpha"}),
    ("metrics.loss = nan", {"beta"}),
    ("metrics.loss != nan", {"alpha", "gamma"}),
    # Compare on params
    ("params.lr < 0.05", {"beta"}),
    ("params.lr = 0.1", {"alpha"}),
    ("params.lr = auto", {"gamma"}),
    ("params.epochs >= 10", {"alpha", "beta"}),
    ("params.epochs = 10.0", {"alpha"}),
    ("params.model = vit", {"beta"}),
    ("params.model ~ res*", {"alpha"}),
    ("params.model ~ RES*", {"alpha"}),
    ("params.model ~ v?t", {"beta"}),
    ("params.model !~ res*", {"beta"}),
    ("params.use_amp = true", {"alpha"}),
    ("params.use_amp != true", {"beta"}),
    ("params.opt = null", {"alpha"}),
    # Compare on run fields
    ("status = finished", {"alpha", "beta"}),
    ("status:failed", {"gamma"}),
    ("status != running", {"alpha", "beta", "gamma"}),
    ("exit_code = 1", {"gamma"}),
    ("exit_code != 0", {"gamma", "delta run"}),
    ("exit_code = null", {"delta run"}),
    ("duration > 60", {"alpha", "beta"}),
    ("duration < 1m", {"gamma"}),
    ("duration >= 10m", {"beta"}),
    ("started >= 2026-01-03", {"gamma", "delta run"}),
    ("started < 2026-01-02", {"alpha"}),
    ("started > 2026-01-02T12:00:00Z", {"gamma", "delta run"}),
    ("branch:main", {"alpha", "gamma"}),
    ("branch ~ feature/*", {"beta"}),
    ("branch != main", {"beta", "delta run"}),
    ("branch !~ main", {"beta", "delta run"}),
    ("commit:aaaa", {"alpha", "gamma"}),
    ("commit:AAAA1111", {"alpha", "gamma"}),
    ("id:0190bb", {"beta"}),
    ("host ~ gpu-?", {"alpha", "beta", "gamma"}),
    ("user = bob", {"beta"}),
    ("source = api", {"delta run"}),
    ("name ~ *ta*", {"beta", "delta run"}),
    # HasTag, HasKey, Text
    ("tag:baseline", {"alpha", "beta"}),
    ("tag:wip", {"delta run"}),
    ("tag:base", set()),
    ("has:metrics.acc", {"alpha", "beta"}),
    ("has:metrics.loss", {"alpha", "beta", "gamma"}),
    ("has:params.opt", {"alpha"}),
    ("alp", {"alpha"}),
    ("RUN", {"delta run"}),
    ('"delta run"', {"delta run"}),
    # And / Or / Not
    ("tag:baseline and metrics.acc > 0.92", {"beta"}),
    ("tag:baseline branch:main", {"alpha"}),
    ("status:failed or status:running", {"gamma", "delta run"}),
    ("not tag:baseline", {"gamma", "delta run"}),
    ("not metrics.acc > 0.92", {"alpha", "gamma", "delta run"}),
    ("(status:failed or tag:wip) and host ~ gpu*", {"gamma"}),
    ("not (tag:baseline or tag:wip)", {"gamma"}),
]


@pytest.mark.parametrize(("text", "expected"), FILTER_CASES, ids=[text for text, _ in FILTER_CASES])
def test_list_runs_filters(seeded: Ledger, text: str, expected: set[str]) -> None:
    runs = seeded.list_runs(where=parse_filter(text), limit=None)

    assert set(names(runs)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not branch:main", {"beta", "delta run"}),
        ("not user = ana", {"beta", "delta run"}),
        ("not exit_code = 0", {"gamma", "delta run"}),
        ("not branch ~ feature/*", {"alpha", "gamma", "delta run"}),
    ],
    ids=["not-branch", "not-user", "not-exit-code", "not-glob"],
)
def test_list_runs_not_matches_runs_missing_the_field(seeded: Ledger, text: str, expected: set[str]) -> None:
    # `not X` is the complement of `X`: a run without a branch is "not on main",
    # just as `branch != main` already says.
    runs = seeded.list_runs(where=parse_filter(text), limit=None)

    assert set(names(runs)) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("50%", {"50%"}), ("a_b", {"a_b"}), ("a\\b", {"a\\b"}), ("a*b", {"a_b", "axb", "a\\b"})],
    ids=["percent-is-literal", "underscore-is-literal", "backslash-is-literal", "star-is-a-wildcard"],
)
def test_list_runs_glob_only_treats_star_and_question_mark_as_wildcards(
    ledger: Ledger, pattern: str, expected: set[str]
) -> None:
    for name in ("50%", "500", "a_b", "axb", "a\\b"):
        started(ledger.store, name=name, status="finished")  # a running run would need a live owner

    runs = ledger.list_runs(where=parse_filter(f"name ~ {_quoted(pattern)}"), limit=None)

    assert set(names(runs)) == expected


def test_list_runs_without_a_filter_lists_every_run_newest_first(seeded: Ledger) -> None:
    assert names(seeded.list_runs()) == ["delta run", "gamma", "beta", "alpha"]


# list_runs sorting


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (["-metrics.acc"], ["beta", "alpha", "delta run", "gamma"]),
        (["metrics.acc"], ["alpha", "beta", "delta run", "gamma"]),
        (["metrics.loss"], ["alpha", "gamma", "delta run", "beta"]),
        (["metrics.loss:desc"], ["gamma", "alpha", "delta run", "beta"]),
        (["params.epochs"], ["gamma", "alpha", "beta", "delta run"]),
        (["-params.epochs"], ["beta", "alpha", "gamma", "delta run"]),
        (["params.lr"], ["beta", "alpha", "delta run", "gamma"]),
        (["duration"], ["gamma", "alpha", "beta", "delta run"]),
        (["-duration"], ["beta", "alpha", "gamma", "delta run"]),
        (["started"], ["alpha", "beta", "gamma", "delta run"]),
        (["-started"], ["delta run", "gamma", "beta", "alpha"]),
        (["name"], ["alpha", "beta", "delta run", "gamma"]),
        (["exit_code:desc"], ["gamma", "beta", "alpha", "delta run"]),
        (["status", "-metrics.acc"], ["gamma", "beta", "alpha", "delta run"]),
        (["user", "-started"], ["gamma", "alpha", "beta", "delta run"]),
    ],
    ids=[
        "metric-desc-missing-last",
        "metric-asc-missing-last",
        "metric-nan-sorts-as-missing",
        "metric-desc-suffix",
        "param-numeric-not-lexical",
        "param-desc",
        "param-text-after-numbers",
        "duration-running-last",
        "duration-desc-running-last",
        "started",
        "started-desc",
        "name",
        "exit-code-desc-ties-newest-first",
        "two-keys",
        "null-user-last",
    ],
)
def test_list_runs_sorts(seeded: Ledger, keys: list[str], expected: list[str]) -> None:
    runs = seeded.list_runs(sort=[parse_sort(k) for k in keys], limit=None)

    assert names(runs) == expected


def test_list_runs_sort_by_a_metric_does_not_duplicate_runs(seeded: Ledger) -> None:
    runs = seeded.list_runs(sort=[parse_sort("metrics.acc"), parse_sort("params.lr")], limit=None)

    assert len(runs) == 4


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("has:metrics.loss", "metrics.loss"),
        ("metrics.loss != 0.3", "-metrics.loss"),
        ("metrics.loss > 1 or metrics.loss = nan", "metrics.loss"),
        ("metrics.acc > 0.5 and tag:baseline", "-metrics.acc"),
        ("params.epochs > 6", "-params.epochs"),
        ("not metrics.loss > 1", "metrics.loss"),
        ("metrics.loss > 1 or tag:wip", "metrics.loss"),
    ],
    ids=["has", "nan-matches", "or-both-require", "and", "param", "not-needs-no-key", "or-one-requires"],
)
def test_list_runs_filtered_and_sorted_keeps_the_order_of_the_whole_ledger(
    seeded: Ledger, text: str, key: str
) -> None:
    # A sort key the filter requires is inner-joined (filter_sql.order_sql): same runs, same order.
    where, sort = parse_filter(text), [parse_sort(key)]
    kept = set(names(seeded.list_runs(where=where, limit=None)))
    order = [n for n in names(seeded.list_runs(sort=sort, limit=None)) if n in kept]
    runs = names(seeded.list_runs(where=where, sort=sort, limit=None))

    assert kept
    assert set(runs) == kept
    assert runs == order


def test_list_runs_tells_a_true_param_from_a_one(seeded: Ledger) -> None:
    # True == 1 in Python: a page-statement cache keyed on equality would mix them up.
    assert names(seeded.list_runs(where=parse_filter("params.use_amp = true"))) == ["alpha"]
    assert names(seeded.list_runs(where=parse_filter("params.use_amp = 1"))) == []


# paging and counting


@pytest.mark.parametrize(
    ("limit", "offset", "expected"),
    [
        (2, 0, ["delta run", "gamma"]),
        (2, 2, ["beta", "alpha"]),
        (3, 2, ["beta", "alpha"]),
        (2, 4, []),
        (None, 1, ["gamma", "beta", "alpha"]),
        (0, 0, []),
    ],
    ids=["first-page", "second-page", "short-last-page", "past-the-end", "no-limit", "zero-limit"],
)
def test_list_runs_pages(seeded: Ledger, limit: int | None, offset: int, expected: list[str]) -> None:
    assert names(seeded.list_runs(limit=limit, offset=offset)) == expected


def test_list_runs_pages_after_filtering_and_sorting(seeded: Ledger) -> None:
    runs = seeded.list_runs(
        where=parse_filter("has:metrics.loss"), sort=[parse_sort("metrics.loss")], limit=1, offset=1
    )

    assert names(runs) == ["gamma"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 4), ("tag:baseline", 2), ("metrics.acc > 2", 0), ("not tag:baseline", 2)],
    ids=["everything", "filtered", "nothing", "negated"],
)
def test_count_runs_agrees_with_list_runs(seeded: Ledger, text: str, expected: int) -> None:
    where = parse_filter(text)

    assert seeded.count_runs(where=where) == len(seeded.list_runs(where=where, limit=None)) == expected


def test_count_runs_of_an_empty_ledger_is_zero(ledger: Ledger) -> None:
    assert ledger.count_runs() == 0


# values carried on summaries


def test_list_runs_carries_only_the_params_and_metrics_asked_for(seeded: Ledger) -> None:
    alpha = seeded.list_runs(where=parse_filter("name = alpha"), params=["lr", "absent"], metrics=["acc"])[0]

    assert (alpha.params, alpha.metrics) == ({"lr": 0.1}, {"acc": 0.9})


def test_list_runs_star_carries_every_param_and_metric(seeded: Ledger) -> None:
    alpha = seeded.list_runs(where=parse_filter("name = alpha"), params=["*"], metrics=["*"])[0]

    assert alpha.params == {"lr": 0.1, "epochs": 10, "model": "resnet", "use_amp": True, "opt": None}
    assert alpha.metrics == {"acc": 0.9, "loss": 0.3}


def test_list_runs_carries_nothing_unless_asked(seeded: Ledger) -> None:
    alpha = seeded.list_runs(where=parse_filter("name = alpha"))[0]

    assert (alpha.params, alpha.metrics, alpha.tags) == ({}, {}, ("baseline",))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
