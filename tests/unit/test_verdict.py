"""Tolerances, metric comparisons and the verdict table of `ledger reproduce`."""

from __future__ import annotations

import json
import math

import pytest

from ledger.core.errors import ConfigError, LedgerError
from ledger.core.tolerance import EXACT, Tolerance, parse_tolerance, tolerance_for, tolerances_from_config
from ledger.core.verdict import (
    DID_NOT_MATCH,
    EXIT_CODE_KEY,
    INCONCLUSIVE,
    MATCHED,
    Check,
    ReproductionLink,
    Verdict,
    judge,
    render_links,
    verdict_from_json,
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


def test_judge_covers_every_metric_of_both_runs_and_the_exit_code() -> None:
    verdict = judge(
        {"acc": 0.9, "loss": NAN, "gone": 1.0},
        {"acc": 0.9, "loss": NAN, "new": 2.0},
        tolerances={},
        exit_codes=(0, 0),
    )

    assert [(c.key, c.ok) for c in verdict.checks] == [
        ("acc", True),
        ("gone", False),
        ("loss", True),
        ("new", False),
        (EXIT_CODE_KEY, True),
    ]
    assert verdict.outcome == DID_NOT_MATCH
    assert verdict.summary() == "did not match: gone (missing), new (not in the original)"


def test_a_different_exit_code_is_a_mismatch() -> None:
    verdict = judge({"acc": 1.0}, {"acc": 1.0}, tolerances={}, exit_codes=(0, 1))

    assert verdict.outcome == DID_NOT_MATCH
    assert verdict.summary() == "did not match: (exit code) (delta +1)"


def test_summary_of_a_match() -> None:
    verdict = judge({"a": 1.0, "b": 2.0}, {"a": 1.0, "b": 2.0}, tolerances={}, exit_codes=(0, 0))

    assert verdict.outcome == MATCHED
    assert verdict.summary() == "matched: 2 metrics within tolerance, same exit code"


def test_nothing_compared_is_inconclusive_never_matched() -> None:
    verdict = judge({}, {}, tolerances={}, exit_codes=(0, 0), outputs=({"a.pt": "1"}, {"b.pt": "1"}))

    assert verdict.outcome == INCONCLUSIVE
    assert verdict.summary().startswith("inconclusive: nothing to compare")


def test_outputs_decide_when_there_is_no_metric() -> None:
    same = judge({}, {}, tolerances={}, exit_codes=(0, 0), outputs=({"m.pt": "1", "x": None}, {"m.pt": "1"}))
    differ = judge({}, {}, tolerances={}, exit_codes=(0, 0), outputs=({"m.pt": "1"}, {"m.pt": "2"}))

    assert same.outcome == MATCHED
    assert [o.path for o in same.outputs] == ["m.pt"]  # a file without a hash is not evidence
    assert same.summary() == "matched: 1 output identical, same exit code (no metrics to compare)"
    assert differ.outcome == DID_NOT_MATCH
    assert differ.summary() == "did not match: m.pt (differs)"


def test_matching_metrics_excuse_outputs_that_differ() -> None:
    verdict = judge(
        {"acc": 1.0}, {"acc": 1.0}, tolerances={}, exit_codes=(0, 0), outputs=({"log": "1"}, {"log": "2"})
    )

    assert verdict.outcome == MATCHED
    assert (
        verdict.summary()
        == "matched: 1 metric within tolerance, same exit code; 0 of 1 output identical (differ: log)"
    )
    assert "OUTPUT" in verdict_table(verdict)


def test_an_unseeded_drift_says_the_original_set_no_seed() -> None:
    unseeded = judge({"loss": 2.0}, {"loss": 1.0}, tolerances={}, exit_codes=(0, 0), seeded=False)
    seeded = judge({"loss": 2.0}, {"loss": 1.0}, tolerances={}, exit_codes=(0, 0), seeded=True)
    crashed = judge({"loss": 2.0}, {"loss": 2.0}, tolerances={}, exit_codes=(0, 1), seeded=False)

    assert unseeded.summary() == "did not match: loss drifted (delta -1); the original set no seed"
    assert seeded.summary() == "did not match: loss (delta -1)"
    assert "seed" not in crashed.summary()


def test_verdict_table_shows_full_precision_and_the_delta() -> None:
    verdict = judge({"acc": 0.1 + 0.2}, {"acc": 0.3}, tolerances={"acc": Tolerance(0.001)}, exit_codes=(0, 0))

    lines = verdict_table(verdict).splitlines()

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


def test_verdicts_survive_json_with_nan_and_infinities() -> None:
    verdict = Verdict(
        (
            Check("a", NAN, NAN, EXACT, True),
            Check("b", INF, -INF, Tolerance(0.5, 0.1), False),
            Check("c", 1.5, None, EXACT, False),
            Check(EXIT_CODE_KEY, 0.0, 0.0, EXACT, True),
        ),
        seeded=False,
    )

    back = verdict_from_json(json.dumps(verdict.to_dict()))

    assert back is not None
    assert math.isnan(back.checks[0].original or 0.0)
    assert back.checks[1].original == INF
    assert back.checks[1].reproduced == -INF
    assert back.checks[1].tolerance == Tolerance(0.5, 0.1)
    assert back.checks[2:] == verdict.checks[2:]
    assert back.seeded is False
    assert back.outcome == verdict.outcome
    assert verdict_from_json("not json") is None
    assert verdict_from_json(None) is None


def test_verdicts_stored_by_older_ledgers_still_read() -> None:
    old = '[{"key": "acc", "original": 1.0, "reproduced": 1.0, "delta": 0.0, "abs": 0.0, "rel": 0.0, "ok": true}]'

    back = verdict_from_json(old)

    assert back is not None
    assert back.checks == (Check("acc", 1.0, 1.0, EXACT, True),)


def test_render_links_for_show() -> None:
    verdict = judge({"acc": 1.0}, {"acc": 1.0}, tolerances={}, exit_codes=(0, 0))
    link = ReproductionLink("b" * 32, "a" * 32, True, 0.0, verdict)
    pending = ReproductionLink("c" * 32, "a" * 32, None, 0.0)

    as_copy = render_links(link, ())
    as_original = render_links(None, [link, pending], short={"b" * 32: "bbbbbbb"})

    assert as_copy[:3] == ["", "reproduction", f"  reproduces       {'a' * 12}: {verdict.summary()}"]
    assert "METRIC" in as_copy[3]
    assert as_original[2:] == [
        f"  reproduced by    bbbbbbb: {verdict.summary()}",
        f"  reproduced by    {'c' * 12}: no verdict (still running, or stopped before the end)",
    ]
    assert render_links(None, ()) == []


def test_a_metric_printed_by_one_run_only_is_not_compared() -> None:
    """A progress bar's last frame may carry `val/acc` in one log and not the other."""
    verdict = judge(
        {"loss": 1.0},
        {"loss": 1.0, "val/acc": 0.4},
        tolerances={},
        exit_codes=(0, 0),
        printed=(set(), {"val/acc"}),
    )
    from_a_file = judge({"loss": 1.0}, {"loss": 1.0, "val/acc": 0.4}, tolerances={}, exit_codes=(0, 0))

    assert verdict.outcome == MATCHED
    assert verdict.not_compared == (("val/acc", "printed by one run only"),)
    assert "not compared (printed by one run only): val/acc" in verdict_table(verdict)
    assert verdict_from_json(json.dumps(verdict.to_dict())) == verdict
    assert from_a_file.outcome == DID_NOT_MATCH


def test_logs_and_hydras_own_record_are_not_evidence() -> None:
    verdict = judge(
        {},
        {},
        tolerances={},
        exit_codes=(0, 0),
        outputs=(
            {"train.log": "1", "o/.hydra/hydra.yaml": "1", "o/model.pt": "5"},
            {"train.log": "2", "o/.hydra/hydra.yaml": "2", "o/model.pt": "5"},
        ),
    )

    assert [o.path for o in verdict.outputs] == ["o/model.pt"]
    assert verdict.outcome == MATCHED


def test_timings_are_not_results_unless_a_tolerance_names_them() -> None:
    """The Trainer's `eval_runtime` and `*_samples_per_second` differ in every run."""
    original = {"eval_loss": 0.5, "eval_runtime": 1.2, "train/samples_per_second": 900.0}
    again = {"eval_loss": 0.5, "eval_runtime": 1.9, "train/samples_per_second": 450.0}

    verdict = judge(original, again, tolerances={}, exit_codes=(0, 0))
    named = judge(original, again, tolerances={"*runtime": Tolerance(0.1)}, exit_codes=(0, 0))
    loss_drift = judge(original, {**again, "eval_loss": 0.6}, tolerances={}, exit_codes=(0, 0))

    assert verdict.outcome == MATCHED
    assert [k for k, _ in verdict.not_compared] == ["eval_runtime", "train/samples_per_second"]
    assert [c.key for c in verdict.metrics] == ["eval_loss"]
    assert named.outcome == DID_NOT_MATCH  # asked for: compared, and 0.7 s is over 0.1
    assert loss_drift.outcome == DID_NOT_MATCH
