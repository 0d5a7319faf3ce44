"""A small training project after `ledger init`, shared by the fault tests of one bad record."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from tests.repo import TmpRepo

PY = sys.executable

TRAIN = """\
import json, sys
acc = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
print(f"training with acc {acc}")
with open("metrics.json", "w") as f:
    json.dump({"acc": acc}, f)
"""


def make_project(repo: TmpRepo) -> None:
    """`train.py`, `params.yaml` and a first commit, then `ledger init` as a user runs it."""
    repo.gen({"train.py": TRAIN, "params.yaml": "lr: 0.1\n", ".gitignore": "metrics.json\n"})
    repo.commit("project")
    ledger("init", cwd=repo.root)
    repo.commit("ledger init")


def good_run(repo: TmpRepo, acc: float) -> str:
    """A normal run through `ledger run`; returns its ID."""
    proc = ledger_process("run", "--", PY, "train.py", str(acc), cwd=repo.root)
    assert "unexpected error" not in proc.stderr
    return str(runs_json(cwd=repo.root)[0]["id"])


def assert_intact(repo: TmpRepo, run_id: str, acc: float, lr: float = 0.1) -> dict[str, Any]:
    """The run is listed, and `show` gives back its params and metrics whole."""
    assert run_id in [r["id"] for r in runs_json(cwd=repo.root)]
    run: dict[str, Any] = show_json(run_id, cwd=repo.root)["run"]
    assert run["summary"]["status"] == "finished"
    assert {m["key"]: m["value"] for m in run["metrics"]} == {"acc": acc}
    assert {p["key"]: p["value"] for p in run["params"]} == {"lr": lr}
    return run
