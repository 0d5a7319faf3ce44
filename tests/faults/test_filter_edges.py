"""The filters that crashed, or answered differently on SQLite and PostgreSQL, one by one.

Each runs on both backends (the `store` fixture) over the fuzz test's edge runs, and
names the runs it must list, so a fix that makes both backends agree on a wrong
answer still fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ledger.core.errors import FilterSyntaxError
from ledger.core.filters import MAX_TERMS, MAX_WORD, And, Text, parse_filter
from ledger.read.queries import list_runs
from tests.faults.test_filter_fuzz import seed_edges

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ledger.store.engine import Store

pytestmark = pytest.mark.integration

EVERY_EXIT_CODE = {"alpha", "beta", "gamma", "École", "ÉCOLE straße", "İstanbul ǅ", "50%_a\\b", "", "x" * 255}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def edges(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The fuzz test's edge runs on each backend (as the `store` fixture gives them),
    seeded once per module and worker: every test here only reads them, through
    `list_runs`, which writes nothing."""
    from ledger.store.engine import connect

    if request.param == "sqlite":
        path = request.getfixturevalue("migrated_ledger")(tmp_path_factory.mktemp("edges") / "ledger.db")
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_migrated_url_for_module")
    store = connect(url, upgrade=True)
    seed_edges(store)
    yield store
    store.close()


def _names(store: Store, text: str) -> set[str]:
    return {
        run.name if run.name is not None else "<none>"
        for run in list_runs(store, where=parse_filter(text), limit=None)
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("exit_code > 99999999999999999999999999", set()),
        ("exit_code < 99999999999999999999999999", EVERY_EXIT_CODE),
        ("exit_code >= -" + "9" * 68, EVERY_EXIT_CODE),
        ("exit_code = 2147483648 or exit_code = -2147483649", set()),
        ("exit_code = 2147483647", {"ÉCOLE straße"}),
        ("exit_code <= -2147483648", {"İstanbul ǅ"}),
        (
            "metrics.acc < 1" + "0" * 400,
            {"alpha", "beta", "ÉCOLE straße", "İstanbul ǅ", "50%_a\\b", "x" * 255},
        ),
        ("metrics.acc >= 1" + "0" * 400, {"École"}),
        ("params.big < -1" + "0" * 400, set()),
    ],
    ids=[
        "past-int",
        "below-past-int",
        "68-digits",
        "one-past-int4",
        "int4-max",
        "int4-min",
        "past-float",
        "inf-past-float",
        "negative-past-float",
    ],
)
def test_numbers_past_every_column_range_compare_without_crashing(
    edges: Store, text: str, expected: set[str]
) -> None:
    assert _names(edges, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("École", {"École", "ÉCOLE straße"}),  # A-Z folded on both sides, É left as typed
        ("ÉCOLE", {"École", "ÉCOLE straße"}),
        ("école", set()),  # no backend folds É: the answer no longer depends on the server's locale
        ("name ~ é*", set()),
        ("name ~ É*", {"École", "ÉCOLE straße"}),
        ("name ~ *STRASSE*", set()),
        ("name ~ *STRAßE", {"ÉCOLE straße"}),
    ],
    ids=[
        "search-mixed",
        "search-upper",
        "search-folded",
        "glob-folded",
        "glob-as-typed",
        "glob-sharp-s",
        "glob-ascii-fold",
    ],
)
def test_only_ascii_letters_match_either_case(edges: Store, text: str, expected: set[str]) -> None:
    assert _names(edges, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.nan_p = nan", {"École"}),
        ("params.nan_p != nan", set()),
        ("params.lr != nan", {"alpha", "beta", "gamma", "École", "İstanbul ǅ", "50%_a\\b"}),
        ("params.lr < nan", set()),
        ("params.lr >= nan", set()),
        ("metrics.acc < nan", set()),
        ("params.inf_p >= inf", {"ÉCOLE straße"}),
        ("params.inf_p <= -inf", {"İstanbul ǅ"}),
    ],
    ids=[
        "nan-equal",
        "nan-not-equal-nan",
        "not-equal-nan",
        "less-than-nan",
        "at-least-nan",
        "metric-less-than-nan",
        "inf",
        "minus-inf",
    ],
)
def test_nothing_orders_with_nan_on_either_backend(edges: Store, text: str, expected: set[str]) -> None:
    assert _names(edges, text) == expected


def test_chains_past_sqlites_depth_limit_run_on_both_backends(edges: Store) -> None:
    distinct = " or ".join([f"name = n{i}" for i in range(1199)] + ["name = alpha"])

    assert _names(edges, distinct) == {"alpha"}
    with_a = {"alpha", "beta", "gamma", "delta run", "ÉCOLE straße", "İstanbul ǅ", "50%_a\\b"}
    assert _names(edges, " and ".join(["a"] * 3000)) == with_a


def test_a_repeated_term_is_kept_once_but_true_is_not_one() -> None:
    assert parse_filter(" and ".join(["a"] * 3000)) == Text("a")
    assert parse_filter("b and a and b") == And((Text("b"), Text("a")))
    assert len(parse_filter("params.x = true or params.x = 1").items) == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a" * (MAX_WORD + 1), "a word or string longer than 10,000 characters at column 1"),
        (
            'name ~ "' + "*" * (MAX_WORD + 1) + '"',
            "a word or string longer than 10,000 characters at column 8",
        ),
        (" or ".join(["x", "y"] * (MAX_TERMS // 2 + 1)), "more than 10,000 terms"),
        ("nul\x00byte", "character U+0000 cannot be stored or matched at column 4"),
        ("lone \udcff", "character U+DCFF cannot be stored or matched at column 6"),
    ],
    ids=["long-word", "long-glob", "many-terms", "nul", "surrogate"],
)
def test_what_no_backend_could_run_is_one_short_error_line(text: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError) as raised:
        parse_filter(text)

    line = str(raised.value)
    assert message in line
    assert "\n" not in line
    assert len(line) < 300  # a long filter is shown around the column, not whole
    line.encode()  # printable on any terminal: no surrogate left in it


def test_a_word_at_the_limit_still_runs(edges: Store) -> None:
    assert _names(edges, "x" * 255) == {"x" * 255}
    assert _names(edges, "x" * MAX_WORD) == set()
