"""The example PyTorch pipeline reproduces bit for bit after its code and params moved on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytest.importorskip("torch", reason="torch is not installed (pip install 'exp-ledger[torch]')")
pytest.importorskip("numpy", reason="numpy is not installed (pip install 'exp-ledger[torch]')")

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "torch_classifier"


def _edit(path: Path, pattern: str, replacement: str) -> None:
    text, count = re.subn(pattern, replacement, path.read_text(), flags=re.MULTILINE)
    assert count == 1, f"{path.name}: {pattern!r} matched {count} times"
    path.write_text(text)


def test_example_reproduces_bit_for_bit_with_its_old_code_data_and_params(
    dvc_repo: TmpRepo, tmp_path: Path
) -> None:
    shutil.copytree(EXAMPLE, dvc_repo.root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "make_data.py"], cwd=dvc_repo.root, check=True)
    dvc_repo.dvc_add("data/raw")
    dvc_repo.dvc("remote", "add", "-d", "store", str(tmp_path / "remote"))
    dvc_repo.dvc("push", "-q")
    dvc_repo.commit("torch classifier")
    ledger_process("run", "--name", "first", "--", "dvc", "repro")
    dvc_repo.commit("results of the first run")
    _edit(
        dvc_repo.root / "model.py",
        r"nn\.Tanh\(\),\n        nn\.Linear\(hidden, classes\)",
        "nn.ReLU(),\n        nn.Linear(hidden, classes)",
    )
    _edit(dvc_repo.root / "params.yaml", r"^  lr: 0\.01$", "  lr: 0.02")
    dvc_repo.commit("relu, higher lr")
    ledger_process("run", "--name", "second", "--", "dvc", "repro")
    first, second = show_json("first")["run"], show_json("second")["run"]
    assert first["summary"]["metrics"] != second["summary"]["metrics"]

    done = reproduce("first")

    assert done.returncode == 0, done.stdout + done.stderr
    new_id = next(
        r["id"] for r in runs_json() if r["id"] not in (first["summary"]["id"], second["summary"]["id"])
    )
    new = show_json(new_id)["run"]
    metrics = first["summary"]["metrics"]
    assert {"test_acc", "test_loss", "train_loss", "val_acc", "val_loss"} <= set(metrics)
    assert new["summary"]["metrics"] == metrics  # bit for bit: == on every float
    assert new["summary"]["params"]["train.lr"] == 0.01  # the old params
    assert new["summary"]["commit"] == first["snapshot"]  # the old code
    data = {d["path"]: d["value"] for d in new["data"] if d["path"] == "data/raw"}
    assert data == {d["path"]: d["value"] for d in first["data"] if d["path"] == "data/raw"}  # the same data
    assert new["seeds"]["seed"] == first["seeds"]["seed"] == 0
    assert new["seeds"]["PYTHONHASHSEED"] == first["seeds"]["PYTHONHASHSEED"]
    checkpoint = {o["path"]: o["value"] for o in first["outputs"]}["models/model.pt"]
    assert {o["path"]: o["value"] for o in new["outputs"]}["models/model.pt"] == checkpoint
    assert new["summary"]["params"]["torch.deterministic"] is True
    assert "dvc repro --no-run-cache" in done.stderr

    again = reproduce("second")  # its snapshot holds the first run's dvc.lock and outputs

    assert again.returncode == 0, again.stdout + again.stderr
    assert "data: 3 of 3 DVC path(s) restored" in again.stderr
    assert "Stage 'prepare' didn't change, skipping" in again.stdout


def reproduce(run: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.reproduce.command", run],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        check=False,
    )
