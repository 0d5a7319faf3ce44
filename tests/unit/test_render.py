"""Unit tests for ledger.read.render: value, time and duration formats, the runs table, JSON."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest

from ledger.core.ids import RunId
from ledger.core.records import Metric
from ledger.core.summary import RunSummary
from ledger.read.render import (
    common_keys,
    format_age,
    format_duration,
    format_time,
    format_value,
    runs_table,
    to_json,
)

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def summary(**overrides: Any) -> RunSummary:
    """A finished run with every display field set; override what a test is about."""
    values: dict[str, Any] = {
        "id": RunId("0190abcdef0123456789abcdef012345"),
        "short_id": "0190abc",
        "name": "baseline",
        "status": "finished",
        "source": "run",
        "started_at": time.time() - 10 * 86400,
        "ended_at": None,
        "exit_code": 0,
        "commit": "3f786850e387550fdab836ed7e6dc881de23001b",
        "branch": "main",
        "dirty": False,
        "tags": (),
    }
    values.update(overrides)
    if "ended_at" not in overrides:
        values["ended_at"] = values["started_at"] + 90
    return RunSummary(**values)


def columns(line: str) -> list[str]:
    return line.split()


# format_value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (math.nan, "nan"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (True, "true"),
        (False, "false"),
        (None, "-"),
        ([1, 2], "[1, 2]"),
        ([], "[]"),
        ({"b": 1, "a": [True, None]}, '{"a": [true, null], "b": 1}'),
        (0.123456789, "0.123457"),
        (1e-7, "1e-07"),
        (123456789.0, "1.23457e+08"),
        (-0.0, "-0"),
        (1.0, "1"),
        (3, "3"),
        (10**20, "100000000000000000000"),
        ("resnet", "resnet"),
        ("", ""),
    ],
    ids=[
        "nan",
        "inf",
        "-inf",
        "true",
        "false",
        "none",
        "list",
        "empty-list",
        "dict-sorted",
        "float-six-digits",
        "tiny-float",
        "big-float",
        "negative-zero",
        "whole-float",
        "int",
        "big-int-not-rounded",
        "string",
        "empty-string",
    ],
)
def test_format_value(value: object, expected: str) -> None:
    assert format_value(value) == expected


# format_duration


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, "-"),
        (0.0, "0.0s"),
        (4.2, "4.2s"),
        (59.9, "59.9s"),
        (60.0, "1m00s"),
        (185.0, "3m05s"),
        (3599.0, "59m59s"),
        (3600.0, "1h00m"),
        (3725.0, "1h02m"),
        (90000.0, "25h00m"),
    ],
    ids=["running", "zero", "seconds", "just-under-a-minute", "one-minute", "minutes", "just-under-an-hour",
         "one-hour", "hours", "more-than-a-day"],
)  # fmt: skip
def test_format_duration(seconds: float | None, expected: str) -> None:
    assert format_duration(seconds) == expected


# format_age


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0.0, "0s ago"),
        (59.9, "59s ago"),
        (60.0, "1m ago"),
        (3599.0, "59m ago"),
        (3600.0, "1h ago"),
        (86399.0, "23h ago"),
        (86400.0, "1d ago"),
        (400 * 86400.0, "400d ago"),
        (-30.0, "0s ago"),
    ],
    ids=["now", "seconds", "one-minute", "minutes", "one-hour", "hours", "one-day", "many-days",
         "future-clock-skew"],
)  # fmt: skip
def test_format_age_with_a_fixed_now(age: float, expected: str) -> None:
    assert format_age(NOW - age, now=NOW) == expected


def test_format_time_is_utc_iso_to_the_second() -> None:
    assert format_time(NOW + 3661.75) == "2026-01-01 01:01:01Z"


# runs_table


def test_runs_table_without_runs_is_the_header_line() -> None:
    assert runs_table([], params=[], metrics=[]) == "ID  STATUS  STARTED  TIME  NAME  COMMIT  BRANCH  TAGS"


def test_runs_table_appends_param_then_metric_columns() -> None:
    header = runs_table([], params=["lr", "model.depth"], metrics=["acc"]).splitlines()[0]

    assert columns(header) == [
        "ID", "STATUS", "STARTED", "TIME", "NAME", "COMMIT", "BRANCH", "TAGS",
        "params.lr", "params.model.depth", "metrics.acc",
    ]  # fmt: skip


def test_runs_table_shows_one_line_per_run_with_each_field() -> None:
    run = summary(tags=("baseline", "best"), params={"lr": 0.1}, metrics={"acc": 0.95})

    lines = runs_table([run], params=["lr"], metrics=["acc"]).splitlines()

    assert columns(lines[1]) == [
        "0190abc", "finished", "10d", "ago", "1m30s", "baseline", "3f786850", "main", "baseline,best",
        "0.1", "0.95",
    ]  # fmt: skip


def test_runs_table_starts_every_column_at_the_same_offset() -> None:
    runs = [
        summary(short_id="0190abc", name="a", status="finished", params={"lr": 0.1}),
        summary(short_id="0190abcdef12", name="a-much-longer-name", status="running", ended_at=None),
        summary(short_id="0190b", name=None, status="crashed", params={"lr": 0.000123456789}),
    ]

    lines = runs_table(runs, params=["lr"], metrics=[]).splitlines()

    header = lines[0]
    starts = [
        header.index(h)
        for h in ("STATUS", "STARTED", "TIME", "NAME", "COMMIT", "BRANCH", "TAGS", "params.lr")
    ]
    for line in lines[1:]:
        assert all(line[s - 2 : s] == "  " and line[s] != " " for s in starts), line


def test_runs_table_lines_have_no_trailing_spaces() -> None:
    runs = [summary(name="x" * 30), summary(name="y")]

    lines = runs_table(runs, params=[], metrics=[]).splitlines()

    assert all(line == line.rstrip() for line in lines)


@pytest.mark.parametrize(
    ("overrides", "column", "expected"),
    [
        ({"name": None}, 4, "-"),
        ({"commit": None}, 5, "-"),
        ({"dirty": True}, 5, "3f786850*"),
        ({"branch": None}, 6, "-"),
        ({"tags": ()}, 7, "-"),
        ({"ended_at": None}, 3, "-"),
    ],
    ids=["no-name", "no-commit", "dirty-commit", "detached", "no-tags", "still-running"],
)
def test_runs_table_marks_missing_and_dirty_values(
    overrides: dict[str, Any], column: int, expected: str
) -> None:
    line = runs_table([summary(**overrides)], params=[], metrics=[]).splitlines()[1]

    cells = line.replace("10d ago", "10d_ago").split()
    assert cells[column] == expected


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [({}, "-"), ({"loss": math.nan}, "nan"), ({"loss": math.inf}, "inf"), ({"loss": 0.25}, "0.25")],
    ids=["missing", "nan", "inf", "number"],
)
def test_runs_table_metric_cells(metrics: dict[str, float], expected: str) -> None:
    line = runs_table([summary(metrics=metrics)], params=[], metrics=["loss"]).splitlines()[1]

    assert columns(line)[-1] == expected


def test_runs_table_missing_param_is_a_dash() -> None:
    line = runs_table([summary(params={})], params=["lr"], metrics=[]).splitlines()[1]

    assert columns(line)[-1] == "-"


# to_json


def test_to_json_turns_nan_and_inf_into_strings() -> None:
    text = to_json({"a": math.nan, "b": math.inf, "c": -math.inf, "d": 1.5})

    assert json.loads(text, parse_constant=_no_constants) == {"a": "nan", "b": "inf", "c": "-inf", "d": 1.5}


def test_to_json_writes_dataclasses_as_objects_with_nested_nan() -> None:
    metric = Metric(key="loss", value=math.nan, step=3, source="api")

    data = json.loads(to_json([metric]), parse_constant=_no_constants)

    assert data == [{"key": "loss", "value": "nan", "step": 3, "source": "api"}]


def test_to_json_adds_a_run_duration() -> None:
    run = summary(started_at=NOW, ended_at=NOW + 42.5, metrics={"acc": math.nan}, tags=("a",))

    data = json.loads(to_json(run), parse_constant=_no_constants)

    assert data["duration"] == 42.5
    assert data["metrics"] == {"acc": "nan"}
    assert data["tags"] == ["a"]
    assert data["id"] == "0190abcdef0123456789abcdef012345"


def test_to_json_keeps_none_and_stringifies_keys() -> None:
    assert json.loads(to_json({1: None, "x": (True, "y")})) == {"1": None, "x": [True, "y"]}


def _no_constants(name: str) -> float:
    raise AssertionError(f"to_json wrote the non-JSON constant {name}")


@pytest.mark.parametrize(
    ("values", "differs"),
    [
        ([1, 1, 1], False),
        ([1, 1.0], True),
        ([1, True], True),
        ([0, False], True),
        (["1", 1], True),
        ([math.nan, math.nan], False),
        ([math.nan, 0.5], True),
        ([[1, 2], [1, 2]], False),
        ([[1, 2], [2, 1]], True),
        ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], False),
        ([{"a": 1}, {"a": 1.0}], True),
        ([None, None], False),
        ([0.1, 0.1, 0.2], True),
    ],
)
def test_common_keys_shows_a_param_only_where_its_json_value_differs(
    values: list[Any], differs: bool
) -> None:
    runs = [summary(params={"p": v, "same": "adam"}) for v in values]

    _, params = common_keys(runs, limit=10)

    assert params == (["p"] if differs else [])


def test_common_keys_counts_a_missing_param_as_different_and_ranks_metrics_by_runs() -> None:
    runs = [
        summary(params={"lr": 0.1}, metrics={"acc": 0.9, "loss": 0.3}),
        summary(params={}, metrics={"acc": 0.8}),
        summary(params={"lr": 0.1}, metrics={"acc": 0.7, "rare": 1.0}),
    ]

    metrics, params = common_keys(runs, limit=2)

    assert params == ["lr"]
    assert metrics == ["acc", "loss"]


def sweep_runs() -> list[RunSummary]:
    """A learning-rate sweep after two earlier tries that changed other things."""
    runs = [
        summary(params={"augment": i % 2 == 0, "batch_size": 32, "epochs": 10, "lr": lr, "seed": 42})
        for i, lr in enumerate((1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3))
    ]
    runs.append(summary(params={"augment": True, "batch_size": 64, "epochs": 20, "lr": 1e-3, "seed": 42}))
    runs.append(
        summary(params={"accum": 4, "augment": True, "batch_size": 32, "epochs": 10, "lr": 1e-3, "seed": 42})
    )
    return runs


def test_common_keys_shows_the_param_a_sweep_varies_before_ones_that_merely_differ() -> None:
    _, params = common_keys(sweep_runs(), limit=2)

    assert params == ["augment", "lr"]


def test_common_keys_ranks_equally_varied_params_by_presence_then_name() -> None:
    _, params = common_keys(sweep_runs(), limit=4)

    # accum (in one run) differs too, but every run has the other three.
    assert params == ["augment", "batch_size", "epochs", "lr"]
    assert common_keys(sweep_runs(), limit=5)[1] == ["accum", "augment", "batch_size", "epochs", "lr"]


def test_common_keys_never_shows_a_param_with_one_value_in_every_run() -> None:
    _, params = common_keys(sweep_runs(), limit=100)

    assert "seed" not in params


def test_common_keys_does_not_depend_on_the_order_of_runs() -> None:
    runs = sweep_runs()

    assert common_keys(runs, limit=3) == common_keys(runs[::-1], limit=3)


def test_common_keys_treats_a_null_param_as_missing() -> None:
    runs = [summary(params={"p": None, "q": 1}), summary(params={"q": 2})]

    assert common_keys(runs, limit=4)[1] == ["q"]


def test_common_keys_passes_over_a_path_inside_each_runs_own_folder() -> None:
    """Hydra's `paths.output_dir` differs in every run by construction; `data_dir`, a path
    outside the run's folder, varies for real."""
    runs = [
        summary(
            params={
                "paths.output_dir": f"logs/runs/{i}",
                "ckpt_dir": f"logs/runs/{i}/checkpoints",
                "data_dir": f"data/v{i % 2}",
                "lr": 0.1 if i else 0.01,
            },
            run_folders=(f"logs/runs/{i}",),
        )
        for i in range(3)
    ]

    assert common_keys(runs, limit=4)[1] == ["data_dir", "lr"]


def test_common_keys_counts_a_fixed_path_once_whichever_run_made_its_folder() -> None:
    runs = [
        summary(params={"out": "results/train", "lr": 0.1}, run_folders=("results",)),
        summary(params={"out": "results/train", "lr": 0.2}, run_folders=("results/train",)),
    ]

    assert common_keys(runs, limit=4)[1] == ["lr"]
