"""Field corpus: a `dvc repro` pipeline whose metrics file is a DVC output, never in git.

`ledger backfill` reads commits from git objects; `eval/metrics.json` is not among
them. Its value is in the DVC cache under the hash the commit's `dvc.lock` gives it.
"""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ledger, runs_json, show_json
from tests.projects import building

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

EVALUATE = """\
import json, os, sys
os.makedirs("eval", exist_ok=True)
json.dump({"accuracy": float(open("score.txt").read())}, open("eval/metrics.json", "w"))
"""

PIPELINE = f"""\
stages:
  evaluate:
    cmd: {sys.executable} evaluate.py
    deps: [evaluate.py, score.txt]
    metrics: [eval/metrics.json]
"""


def history(repo: TmpRepo, scores: list[str]) -> None:
    """One `dvc repro` and commit per score, as a DVC user works."""
    repo.gen({"evaluate.py": EVALUATE, "dvc.yaml": PIPELINE})
    for score in scores:
        repo.gen({"score.txt": score})
        repo.dvc("repro", "-q")
        repo.commit(f"score {score}")


@pytest.fixture(scope="session")
def scored(_dvc_template: Path, tmp_path_factory: pytest.TempPathFactory) -> TmpRepo:
    """`history` of one score, 0.71, made once: a test goes on from it in a copy (`own_copy`)."""
    with building(tmp_path_factory, "metrics-backfill", _dvc_template) as repo:
        history(repo, ["0.71"])
    return repo


def backfilled(repo: TmpRepo) -> list[dict[str, Any]]:
    ledger("backfill", cwd=repo.root)
    runs = sorted(runs_json(cwd=repo.root), key=lambda r: r["id"])  # history's order
    return [show_json(r["id"], cwd=repo.root)["run"] for r in runs]


def metrics(detail: dict[str, Any]) -> dict[str, float]:
    return {m["key"]: m["value"] for m in detail["metrics"]}


def test_metrics_in_a_dvc_output_are_read_from_the_cache(
    scored: TmpRepo, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    dvc_repo = own_copy(scored)  # the history of 0.71
    history(dvc_repo, ["0.84"])
    assert "eval/metrics.json" not in dvc_repo.git("ls-files")  # a DVC output, not in git

    first, second = backfilled(dvc_repo)

    assert metrics(first) == {"accuracy": 0.71}
    assert metrics(second) == {"accuracy": 0.84}
    assert [m["source"] for m in second["metrics"]] == ["eval/metrics.json"]
    assert second["capture_errors"] == []


def test_without_the_cache_the_record_says_why_there_are_no_metrics(
    scored: TmpRepo, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    dvc_repo = own_copy(scored)  # the history of 0.71
    shutil.rmtree(dvc_repo.root / ".dvc" / "cache")

    (only,) = backfilled(dvc_repo)

    assert metrics(only) == {}
    (problem,) = only["capture_errors"]
    assert problem.startswith("eval/metrics.json: a DVC output (md5 ")
    assert "that is not in the DVC cache" in problem
    assert "no metrics from it" in problem


def test_the_post_commit_capture_reads_the_cache_too(
    dvc_repo: TmpRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dvc repro && git commit` with the hooks installed: the commit's run has the metric."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    dvc_repo.commit("dvc set up")
    ledger("init", cwd=dvc_repo.root)
    monkeypatch.setenv("LEDGER_HOOKS", "0")
    dvc_repo.commit("ledger set up")
    monkeypatch.setenv("LEDGER_HOOKS", "1")

    history(dvc_repo, ["0.93"])

    (run,) = [r for r in runs_json(cwd=dvc_repo.root) if r["source"] == "commit"]

    assert run["metrics"] == {"accuracy": 0.93}
