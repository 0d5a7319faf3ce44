"""Caps on what one run records: each hit is a capture problem, never a failure or a huge row."""

from __future__ import annotations

import json
import sqlite3
from array import array
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.capture.caps import (
    MAX_FILE_BYTES,
    MAX_METRICS,
    MAX_PARAM_CHARS,
    MAX_PARAMS,
    MAX_SERIES_POINTS,
    MAX_VALUES,
    cap_results,
)
from ledger.core.chunks import Points
from ledger.core.records import Metric
from tests.faults.training_repo import PY, assert_intact, good_run
from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from tests.repo import TmpRepo

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
"""

WRITES_METRICS = """\
import sys
with open("metrics.json", "w") as f:
    f.write(open(sys.argv[1]).read())
sys.exit(int(sys.argv[2]))
"""


def _db(repo: TmpRepo) -> Path:
    return Path(ledger("where", cwd=repo.root).stdout.strip())


def _bad_run(repo: TmpRepo, *argv: str) -> tuple[int, str, dict[str, Any]]:
    proc = ledger_process("run", "--", PY, *argv, cwd=repo.root, check=False)
    assert "unexpected error" not in proc.stderr
    run = show_json(runs_json(cwd=repo.root)[0]["id"], cwd=repo.root)["run"]
    return proc.returncode, proc.stderr, run


@pytest.mark.integration
def test_billion_laughs_params_file_is_not_expanded(project: TmpRepo) -> None:
    before = good_run(project, 0.61)
    assert len(BILLION_LAUGHS) < 400
    project.gen({"params.yaml": BILLION_LAUGHS})

    code, stderr, run = _bad_run(project, "train.py", "0.62")

    assert code == 0
    assert f"expands to more than {MAX_VALUES:,} values" in stderr
    assert run["params"] == []
    assert {m["key"]: m["value"] for m in run["metrics"]} == {"acc": 0.62}
    with sqlite3.connect(_db(project)) as conn:
        longest = conn.execute("SELECT max(length(text)) FROM params").fetchone()[0]
    assert longest < 100
    assert _db(project).stat().st_size < 5 * 1024**2
    project.gen({"params.yaml": "lr: 0.1\n"})
    after = good_run(project, 0.63)
    assert_intact(project, before, 0.61)
    assert_intact(project, after, 0.63)


@pytest.mark.integration
def test_params_over_the_caps(project: TmpRepo) -> None:
    many = "".join(f"p{i}: {i}\n" for i in range(MAX_PARAMS + 500))
    project.gen({"params.yaml": f"long: {'x' * (MAX_PARAM_CHARS + 1)}\nlr: 0.2\n{many}"})

    code, stderr, run = _bad_run(project, "train.py", "0.62")

    assert code == 0
    keys = {p["key"] for p in run["params"]}
    assert len(keys) == MAX_PARAMS
    assert "lr" in keys
    assert "long" not in keys
    assert f"over the {MAX_PARAM_CHARS:,} a param may hold" in stderr
    assert f"over the {MAX_PARAMS:,} a run may record" in stderr
    assert {m["key"]: m["value"] for m in run["metrics"]} == {"acc": 0.62}


@pytest.mark.integration
def test_params_file_over_the_size_cap_is_not_read(project: TmpRepo) -> None:
    line = "k{}: " + "v" * 100 + "\n"
    project.gen({"params.yaml": "".join(line.format(i) for i in range(MAX_FILE_BYTES // 100))})

    code, stderr, run = _bad_run(project, "train.py", "0.62")

    assert code == 0
    assert f"over the {MAX_FILE_BYTES:,} a file may have; not read" in stderr
    assert run["params"] == []
    assert {m["key"]: m["value"] for m in run["metrics"]} == {"acc": 0.62}


@pytest.mark.integration
@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"acc": 0.5, "huge": 1' + "0" * 400 + "}", "metric 'huge' is not a number"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "metrics.json: nested too deep to read"),
        (
            json.dumps({f"m{i}": i for i in range(MAX_METRICS + 10)}),
            f"over the {MAX_METRICS:,} a run may record",
        ),
    ],
    ids=["int-over-1e308", "nested-100000-deep", "too-many-keys"],
)
@pytest.mark.parametrize("exit_code", [0, 7])
def test_bad_metrics_file_never_changes_the_exit_code(
    project: TmpRepo, content: str, problem: str, exit_code: int
) -> None:
    project.gen({"write_metrics.py": WRITES_METRICS, "payload.json": content})
    project.commit("payload")

    code, stderr, run = _bad_run(project, "write_metrics.py", "payload.json", str(exit_code))

    assert code == exit_code
    assert run["summary"]["exit_code"] == exit_code
    assert any(problem in e for e in run["capture_errors"]), run["capture_errors"]
    assert problem in stderr
    assert len(run["metrics"]) <= MAX_METRICS


def test_a_series_keeps_its_first_points_up_to_the_cap() -> None:
    n = MAX_SERIES_POINTS + 3
    steps = array("q", range(n))
    long = Points(steps, array("q", range(n)), array("d", map(float, range(n))))
    short = Points(array("q", [0]), array("q", [0]), array("d", [1.0]))
    errors: list[str] = []

    metrics, series = cap_results(
        [Metric("acc", 1.0, None, "metrics.json")],
        {"dvclive/metrics.json": {"loss": long, "lr": short}},
        errors,
    )

    kept = series["dvclive/metrics.json"]
    assert len(kept["loss"]) == MAX_SERIES_POINTS
    assert kept["loss"].steps[-1] == MAX_SERIES_POINTS - 1
    assert kept["lr"] is short
    assert [m.key for m in metrics] == ["acc"]
    assert errors == [
        f"metric 'loss' (dvclive/metrics.json): {n:,} points, over the {MAX_SERIES_POINTS:,} "
        f"a series may hold; kept the first {MAX_SERIES_POINTS:,}"
    ]


def test_metric_keys_past_the_cap_are_left_out_whole() -> None:
    errors: list[str] = []
    point = Points(array("q", [0]), array("q", [0]), array("d", [0.0]))

    metrics, series = cap_results(
        [Metric(f"m{i}", float(i), None, "metrics.json") for i in range(5)],
        {"log": {"s1": point, "s2": point}},
        errors,
        taken=MAX_METRICS - 6,
    )

    assert [m.key for m in metrics] == [f"m{i}" for i in range(5)]
    assert series == {"log": {"s1": point}}
    assert len(errors) == 1
