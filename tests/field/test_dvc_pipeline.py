"""Shape (a) end to end: `ledger run -- dvc repro` on a DVCLive pipeline, its commit
through the installed hooks, `show`, `list`, `diff`, `export` and `reproduce --dry-run`."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.field import pipeline
from tests.helpers import ledger, ledger_process, runs_json, show_json
from tests.projects import ShownRun, building
from tests.repo import DVC

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRAIN_DICE = "results/train/metrics.json:dice"
EVAL_DICE = "results/evaluate/metrics.json:dice"


def _repro() -> dict[str, Any]:
    assert DVC is not None
    ledger_process("run", "--", DVC, "repro", "-q")
    return show_json("latest")


@pytest.fixture(scope="session")
def built(_dvc_template: Path, tmp_path_factory: pytest.TempPathFactory) -> TmpRepo:
    """The pipeline at lr 0.01 as a new clone has it, built once: a test that changes it
    changes a copy (`own_copy`)."""
    with building(tmp_path_factory, "pipeline-built", _dvc_template) as repo:
        pipeline.build(repo, lr=0.01)
    return repo


@pytest.fixture(scope="session")
def reproduced(built: TmpRepo, tmp_path_factory: pytest.TempPathFactory) -> ShownRun:
    """`built` (lr 0.01) after one `ledger run -- dvc repro`, made once on a copy: most
    tests ask about that first run."""
    with building(tmp_path_factory, "pipeline-reproduced", built.root) as repo:
        shown = _repro()
    return ShownRun(repo, shown)


@dataclass(frozen=True)
class Swept:
    """`reproduced`'s project with lr set to 0.05, reproduced again: a sweep of two runs."""

    repo: TmpRepo
    low: dict[str, Any]
    """`ledger show --json` of the first run (lr 0.01)."""
    high: dict[str, Any]
    """`ledger show --json` of the second run (lr 0.05)."""


@pytest.fixture(scope="session")
def swept(reproduced: ShownRun, tmp_path_factory: pytest.TempPathFactory) -> Swept:
    """The second run made once, on a copy of `reproduced`: the tests that compare the two
    runs only read them."""
    with building(tmp_path_factory, "pipeline-swept", reproduced.repo.root) as repo:
        pipeline.set_lr(repo, 0.05)
        high = _repro()
    return Swept(repo, reproduced.shown, high)


def test_a_key_two_metrics_files_share_keeps_both_values(reproduced: ShownRun) -> None:
    shown = reproduced.shown  # built at lr 0.01

    metrics = shown["run"]["summary"]["metrics"]
    assert metrics[TRAIN_DICE] == pytest.approx(0.92)
    assert metrics[EVAL_DICE] == pytest.approx(0.801)
    assert "dice" not in metrics
    sources = {m["key"]: m["source"] for m in shown["run"]["metrics"]}
    assert sources[EVAL_DICE] == "results/evaluate/metrics.json"
    assert metrics["precision"] == 0.75  # a key one file holds keeps its plain name


def test_series_are_read_where_dvc_yaml_and_dvclive_put_them(reproduced: ShownRun) -> None:
    shown = reproduced.shown

    series = shown["series"]
    assert [p[1] for p in _points(series, "loss")] == pytest.approx([1.0, 1 / 1.1, 1 / 1.2])
    assert [p[0] for p in _points(series, TRAIN_DICE)] == [0, 1, 2]
    history = [p[1] for p in _points(series, "val_loss")]
    assert history == [math.inf, 0.61, 0.42]
    assert not {k for k in series if "recall" in k or "threshold" in k}  # a curve, not a series
    assert shown["run"]["capture_errors"] == []


def test_params_dvclive_writes_are_the_runs_own(swept: Swept) -> None:
    first, second = swept.low, swept.high  # lr 0.01, then 0.05

    assert first["run"]["summary"]["params"]["lr"] == 0.01  # DVCLive's copy, from the first run itself
    assert second["run"]["summary"]["params"]["lr"] == 0.05
    diff = json.loads(
        ledger(
            "diff",
            first["run"]["summary"]["id"],
            second["run"]["summary"]["id"],
            "--json",
            cwd=swept.repo.root,
        ).stdout
    )
    changed = {p["key"] for p in diff["params"] if p["values"][0] != p["values"][1]}
    assert changed == {"lr", "train.lr"}


def test_a_run_that_does_not_write_dvclives_params_gets_none_of_an_earlier_copy(
    reproduced: ShownRun, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    own_copy(reproduced.repo)  # built at lr 0.01; its run left DVCLive's results/train/params.yaml behind

    ledger_process("run", "--", sys.executable, "evaluate.py")

    params = show_json("latest")["run"]["summary"]["params"]
    assert params["train.lr"] == 0.01  # params.yaml, the project's own, is read before
    assert "lr" not in params  # DVCLive's copy belongs to the run that wrote it


def test_filters_sort_diff_and_export_name_both_dice_keys(swept: Swept, tmp_path: Path) -> None:
    low = swept.low["run"]["summary"]["id"]  # lr 0.01
    high = swept.high["run"]["summary"]["id"]  # lr 0.05
    root = swept.repo.root

    above = runs_json(f'metrics."{EVAL_DICE}" > 0.803', cwd=root)
    ordered = runs_json(f'--sort=-metrics."{EVAL_DICE}"', cwd=root)
    diff = ledger("diff", low, high, cwd=root).stdout
    ledger("export", "--format", "json", "-o", str(tmp_path / "runs.json"), cwd=root)

    assert [r["id"] for r in above] == [high]
    assert [r["id"] for r in ordered] == [high, low]
    assert TRAIN_DICE in diff
    assert EVAL_DICE in diff
    exported = json.loads((tmp_path / "runs.json").read_text())
    keys = {m for run in exported for m in run["metrics"]}
    assert {TRAIN_DICE, EVAL_DICE} <= keys


def test_the_repro_commit_links_the_run_and_a_later_code_commit_does_not(
    built: TmpRepo, own_copy: Callable[[TmpRepo], TmpRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    dvc_repo = own_copy(built)
    ledger("init")
    dvc_repo.commit("hooks")
    run_id = _repro()["run"]["summary"]["id"]

    dvc_repo.commit("results")
    results = dvc_repo.git("rev-parse", "HEAD")
    dvc_repo.gen({"evaluate.py": pipeline.EVALUATE + "# refactor\n"})
    dvc_repo.commit("refactor evaluate")

    assert show_json(run_id)["run"]["linked_commits"] == [results]
    assert f"Ledger-Run: {run_id[:16]}" in dvc_repo.git("log", "-1", "--format=%B", results)
    assert [r["id"] for r in runs_json()] == [run_id]  # neither commit was captured as a run of its own


def test_reproduce_dry_run_names_the_pipeline_data(reproduced: ShownRun) -> None:
    run_id = reproduced.shown["run"]["summary"]["id"]

    plan = ledger_process("reproduce", run_id, "--dry-run", cwd=reproduced.repo.root).stdout

    assert "data/raw.csv" in plan
    assert "repro" in plan


def _points(series: dict[str, Any], key: str) -> list[tuple[int, float]]:
    """(step, value) pairs of a series in `show --json` (which spells infinities as text)."""
    found = series[key]
    return [(s, float(v)) for s, v in zip(found["steps"], found["values"], strict=True)]
