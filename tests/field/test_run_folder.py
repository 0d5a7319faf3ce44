"""Which log folder is this run's, when runs start together (`lightning_logs/version_N/`).

Two `ledger run`s started side by side both find both new version folders when they
end: each must keep only its own, decided by what was written there (the config
says the learning rate its command line gave), not by the folder's name or time.
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

# Lightning's logger takes the next free `version_N`; the script then waits until the
# other run has made its folder too, so both are new when either run ends.
TRAIN = """\
import os, sys, time
lr = sys.argv[sys.argv.index("--lr") + 1]
os.makedirs("lightning_logs", exist_ok=True)
n = 0
while True:
    try:
        os.mkdir(f"lightning_logs/version_{n}")
        break
    except FileExistsError:
        n += 1
folder = f"lightning_logs/version_{n}"
with open(f"{folder}/hparams.yaml", "w") as f:
    f.write(f"lr: {lr}\\nbatch_size: 16\\n")
with open(f"{folder}/metrics.csv", "w") as f:
    f.write("step,loss\\n0,0.9\\n")
deadline = time.monotonic() + 60
while len(os.listdir("lightning_logs")) < int(sys.argv[-1]) and time.monotonic() < deadline:
    time.sleep(0.05)
"""


@pytest.fixture
def project(tmp_repo: TmpRepo) -> TmpRepo:
    tmp_repo.gen({"train.py": TRAIN, ".gitignore": "lightning_logs/\n"})
    tmp_repo.commit("lightning-style script")
    return tmp_repo


def by_lr(runs: list[dict[str, Any]]) -> dict[float, dict[str, Any]]:
    found = {}
    for summary in runs:
        run = show_json(summary["id"])["run"]
        found[summary["params"]["lr"]] = run
    return found


def test_two_runs_started_together_each_get_their_own_folder(project: TmpRepo) -> None:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger",
                "run",
                "--",
                sys.executable,
                "train.py",
                "--lr",
                lr,
                "--runs",
                "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for lr in ("0.1", "0.2")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    runs = by_lr(runs_json())
    folders = {lr: run["run_folders"] for lr, run in runs.items()}
    assert sorted(f for found in folders.values() for f in found) == [
        "lightning_logs/version_0",
        "lightning_logs/version_1",
    ]
    for lr, run in runs.items():
        [folder] = run["run_folders"]
        params = {p["key"]: (p["value"], p["source"]) for p in run["params"]}
        assert params["batch_size"] == (16, f"{folder}/hparams.yaml")
        assert params["lr"] == (lr, "argv")
        assert (project.root / folder / "hparams.yaml").read_text().startswith(f"lr: {lr}\n")


def test_a_run_right_after_another_does_not_take_its_folder(project: TmpRepo) -> None:
    ledger_process("run", "--", sys.executable, "train.py", "--lr", "0.1", "--runs", "1")
    ledger_process("run", "--", sys.executable, "train.py", "--lr", "0.2", "--runs", "2")

    runs = by_lr(runs_json())
    assert runs[0.1]["run_folders"] == ["lightning_logs/version_0"]
    assert runs[0.2]["run_folders"] == ["lightning_logs/version_1"]
    shown = ledger("show", runs_json()[0]["id"]).stdout
    assert "wrote into       lightning_logs/version_1/" in shown
    assert "lightning_logs/version_0" not in shown
