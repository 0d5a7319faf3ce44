"""A Lightning + Hydra style project: every run writes into `logs/train/runs/<timestamp>/`.

Checkpoints land three folders deep (`.../checkpoints/last.ckpt`), next to Hydra's
`.hydra/` and the CSV logger's metrics; all of `logs/` is git-ignored. Earlier runs'
folders are still there.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

TRAIN = """\
import os, sys, time
stamp = sys.argv[1]
run = os.path.join("logs", "train", "runs", stamp)
for sub in ("checkpoints", ".hydra", "csv/version_0"):
    os.makedirs(os.path.join(run, sub), exist_ok=True)
open(os.path.join(run, ".hydra", "config.yaml"), "w").write("lr: 0.01\\n")
for epoch in range(2):
    open(os.path.join(run, "checkpoints", f"epoch_{epoch:03d}.ckpt"), "wb").write(os.urandom(64))
open(os.path.join(run, "checkpoints", "last.ckpt"), "wb").write(os.urandom(64))
open(os.path.join(run, "csv", "version_0", "metrics.csv"), "w").write("epoch,loss\\n0,0.5\\n1,0.4\\n")
# A tool caching something in the project's virtualenv is not an output of the run.
os.makedirs(".venv/cache", exist_ok=True)
open(".venv/cache/pretrained.ckpt", "wb").write(b"weights")
"""

EARLIER = "logs/train/runs/2024-05-01_09-00-00"


@pytest.fixture
def project(tmp_repo: TmpRepo) -> TmpRepo:
    tmp_repo.gen(
        {
            "train.py": TRAIN,
            ".gitignore": "logs/\n.venv/\n",
            f"{EARLIER}/checkpoints/last.ckpt": b"an earlier run's weights",
            f"{EARLIER}/.hydra/config.yaml": "lr: 0.1\n",
            ".venv/pyvenv.cfg": "home = /usr/bin\n",
        }
    )
    old = time.time() - 3600
    for path in [tmp_repo.root / "logs", *(tmp_repo.root / "logs").rglob("*")]:
        os.utime(path, (old, old))
    tmp_repo.commit("lightning-hydra template")
    return tmp_repo


def test_checkpoints_deep_in_the_run_folder_are_outputs(project: TmpRepo) -> None:
    run_folder = "logs/train/runs/2024-05-01_10-00-00"

    ledger_process("run", "--", sys.executable, "train.py", "2024-05-01_10-00-00")

    run = show_json(runs_json()[0]["id"])["run"]
    outputs = {o["path"]: o for o in run["outputs"]}
    assert sorted(outputs) == [
        f"{run_folder}/checkpoints/epoch_000.ckpt",
        f"{run_folder}/checkpoints/epoch_001.ckpt",
        f"{run_folder}/checkpoints/last.ckpt",
    ]
    assert all(o["size"] == 64 and len(o["value"]) == 32 for o in outputs.values())
    assert run["run_folders"] == [run_folder]
    text = ledger("show", runs_json()[0]["id"]).stdout
    assert f"wrote into       {run_folder}/" in text


def test_an_earlier_runs_checkpoint_is_not_an_output(project: TmpRepo) -> None:
    ledger_process("run", "--", sys.executable, "train.py", "2024-05-01_11-00-00")

    run = show_json(runs_json()[0]["id"])["run"]
    paths = [o["path"] for o in run["outputs"]]
    assert f"{EARLIER}/checkpoints/last.ckpt" not in paths
    assert not [p for p in paths if p.startswith(".venv/")]
    assert run["run_folders"] == ["logs/train/runs/2024-05-01_11-00-00"]


def test_a_run_that_makes_no_folder_records_none(project: TmpRepo) -> None:
    project.gen({"eval.py": "print('accuracy: 0.9')\n"})
    project.commit("eval")

    ledger_process("run", "--", sys.executable, "eval.py")

    run = show_json(runs_json()[0]["id"])["run"]
    assert run["outputs"] == []
    assert run["run_folders"] == []
