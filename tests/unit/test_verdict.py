"""Tolerances, metric comparisons and the verdict table of `ledger reproduce`."""

from __future__ import annotations

import math

import pytest

from ledger.errors import ConfigError, LedgerError
from ledger.verdict import (
    EXACT,
    EXIT_CODE_KEY,
    Check,
    ReproductionLink,
    Tolerance,
    checks_from_json,
    checks_to_json,
    compare,
    matched,
    outputs_line,
    parse_tolerance,
    render_links,
    summary,
    tolerance_for,
    tolerances_from_config,
    verdict_table,
)

NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    ("tolerance", "original", "reproduced", "ok"),
    [
        (EXACT, 0.1 + 0.2, 0.1 + 0.2, True),
        (EXACT, 0.3, 0.1 + 0.2, False),
        (EXACT, NAN, NAN, True),
        (EXACT, NAN, 1.0, False),
        (EXACT, 1.0, NAN, False),
        (EXACT, INF, INF, True),
        (EXACT, INF, -INF, False),
        (Tolerance(abs=1.0), INF, 1e308, False),
        (EXACT, 1.0, None, False),
        (EXACT, None, 1.0, False),
        (EXACT, 0.0, -0.0, True),
        (Tolerance(abs=0.01), 0.5, 0.509, True),
        (Tolerance(abs=0.01), 0.5, 0.52, False),
        (Tolerance(rel=0.1), 100.0, 109.0, True),
        (Tolerance(rel=0.1), 100.0, 111.0, False),
        (Tolerance(abs=0.5, rel=0.001), 100.0, 100.4, True),
    ],
    ids=[
        "equal",
        "float-rounding-is-a-difference",
        "nan-equals-nan",
        "nan-vs-number",
        "number-vs-nan",
        "inf-equals-inf",
        "inf-vs-minus-inf",
        "inf-never-within-tolerance",
        "missing-reproduced",
        "missing-original",
        "signed-zero",
        "within-abs",
        "beyond-abs",
        "within-rel",
        "beyond-rel",
        "abs-or-rel",
    ],
)
def test_tolerance_allows(
    tolerance: Tolerance, original: float | None, reproduced: float | None, ok: bool
) -> None:
    assert tolerance.allows(original, reproduced) is ok


@pytest.mark.parametrize(
    ("text", "key", "tolerance"),
    [
        ("acc=0.01", "acc", Tolerance(0.01, 0.0)),
        ("val.loss=0,1e-6", "val.loss", Tolerance(0.0, 1e-6)),
        (" *loss = 1e-3", "*loss", Tolerance(1e-3)),
    ],
    ids=["abs", "abs-and-rel", "glob-with-spaces"],
)
def test_parse_tolerance(text: str, key: str, tolerance: Tolerance) -> None:
    assert parse_tolerance(text) == (key, tolerance)


@pytest.mark.parametrize("text", ["acc", "=0.1", "acc=x", "acc=1,2,3", "acc=-1", "acc=nan"], ids=str)
def test_parse_tolerance_refuses(text: str) -> None:
    with pytest.raises(LedgerError):
        parse_tolerance(text)


def test_tolerances_from_config() -> None:
    assert tolerances_from_config({"acc": 0.01, "loss": [0, 1e-6]}) == {
        "acc": Tolerance(0.01),
        "loss": Tolerance(0.0, 1e-6),
    }
    assert tolerances_from_config(None) == {}


@pytest.mark.parametrize(
    "table", [0.1, {"acc": "0.1"}, {"acc": [1, 2, 3]}, {"acc": True}, {"acc": -0.1}], ids=str
)
def test_tolerances_from_config_names_the_bad_key(table: object) -> None:
    with pytest.raises(ConfigError, match="tolerance"):
        tolerances_from_config(table)


def test_tolerance_for_prefers_the_exact_key_then_the_first_glob() -> None:
    tolerances = {"*loss": Tolerance(1.0), "val_loss": Tolerance(2.0), "*": Tolerance(3.0)}

    assert tolerance_for("val_loss", tolerances) == Tolerance(2.0)
    assert tolerance_for("train_loss", tolerances) == Tolerance(1.0)
    assert tolerance_for("acc", tolerances) == Tolerance(3.0)
    assert tolerance_for("acc", {}) == EXACT


def test_compare_covers_every_metric_of_both_runs_and_the_exit_code() -> None:
    checks = compare(
        {"acc": 0.9, "loss": NAN, "gone": 1.0},
        {"acc": 0.9, "loss": NAN, "new": 2.0},
        tolerances={},
        exit_codes=(0, 0),
    )

    assert [(c.key, c.ok) for c in checks] == [
        ("acc", True),
        ("gone", False),
        ("loss", True),
        ("new", False),
        (EXIT_CODE_KEY, True),
    ]
    assert not matched(checks)
    assert summary(checks) == "did not match: gone (missing), new (not in the original)"


def test_a_different_exit_code_is_a_mismatch() -> None:
    checks = compare({"acc": 1.0}, {"acc": 1.0}, tolerances={}, exit_codes=(0, 1))

    assert not matched(checks)
    assert summary(checks) == "did not match: (exit code) (delta +1)"


def test_summary_of_a_match() -> None:
    checks = compare({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.0}, tolerances={}, exit_codes=(0, 0))

    assert summary(checks) == "matched: 2 metrics within tolerance, same exit code"


def test_verdict_table_shows_full_precision_and_the_delta() -> None:
    checks = compare(
        {"acc": 0.1 + 0.2}, {"acc": 0.3}, tolerances={"acc": Tolerance(0.001)}, exit_codes=(0, 0)
    )

    lines = verdict_table(checks).splitlines()

    assert lines[0].split() == ["METRIC", "ORIGINAL", "REPRODUCED", "DELTA", "TOLERANCE", "OK"]
    assert lines[1].split() == ["acc", "0.30000000000000004", "0.3", "-5.55e-17", "±0.001", "ok"]
    assert lines[2].split() == [
        EXIT_CODE_KEY.split()[0],
        EXIT_CODE_KEY.split()[1],
        "0",
        "0",
        "0",
        "exact",
        "ok",
    ]


def test_checks_survive_json_with_nan_and_infinities() -> None:
    checks = (
        Check("a", NAN, NAN, EXACT, True),
        Check("b", INF, -INF, Tolerance(0.5, 0.1), False),
        Check("c", 1.5, None, EXACT, False),
    )

    back = checks_from_json(checks_to_json(checks))

    assert math.isnan(back[0].original or 0.0)
    assert back[1].original == INF
    assert back[1].reproduced == -INF
    assert back[1].tolerance == Tolerance(0.5, 0.1)
    assert back[2] == checks[2]
    assert checks_from_json("not json") == ()
    assert checks_from_json(None) == ()


def test_render_links_for_show() -> None:
    checks = compare({"acc": 1.0}, {"acc": 1.0}, tolerances={}, exit_codes=(0, 0))
    link = ReproductionLink("b" * 32, "a" * 32, True, 0.0, checks)
    pending = ReproductionLink("c" * 32, "a" * 32, None, 0.0)

    as_copy = render_links(link, ())
    as_original = render_links(None, [link, pending], short={"b" * 32: "bbbbbbb"})

    assert as_copy[:3] == ["", "reproduction", f"  reproduces       {'a' * 12}: {summary(checks)}"]
    assert "METRIC" in as_copy[3]
    assert as_original[2:] == [
        f"  reproduced by    bbbbbbb: {summary(checks)}",
        f"  reproduced by    {'c' * 12}: no verdict (still running, or stopped before the end)",
    ]
    assert render_links(None, ()) == []


def test_outputs_line() -> None:
    assert outputs_line({"m.pt": "1", "log": "2"}, {"m.pt": "1", "log": "3"}) == (
        "outputs: 1 of 2 written by both runs are identical; differ: log"
    )
    assert outputs_line({"m.pt": "1"}, {"other": "1"}) is None
