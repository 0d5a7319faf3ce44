"""`ledger run` hands its record to a detached recorder: nothing is lost or shown late.

Real processes throughout: the wrapper, its child, the recorder it starts, and a
recorder killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger, runs_json, show_json, wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

PY = sys.executable

WAIT_FOR_GO = """
import json, pathlib, time
pathlib.Path("ready").touch()
while not pathlib.Path("go").exists():
    time.sleep(0.02)
json.dump({"acc": 0.9}, open("metrics.json", "w"))
print("trained")
"""


def _recorders(spool: Path) -> list[int]:
    """PIDs of the recorders working on runs in this spool."""
    out = subprocess.run(["pgrep", "-f", f"ledger.delivery.recorder {spool}"], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def test_the_wrapper_never_imports_sqlalchemy(tmp_repo: TmpRepo) -> None:
    """The point of the hand-over: 0.35-0.6 s of imports off every `ledger run`."""
    proc = subprocess.run(
        [PY, "-X", "importtime", "-m", "ledger", "run", "--", PY, "-c", "pass"],
        cwd=tmp_repo.root,
        capture_output=True,
        text=True,
        check=True,
    )

    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "ledger.capture.runner" in imported
    assert not {m for m in imported if m.split(".")[0] in {"sqlalchemy", "alembic"}}
    assert runs_json()[0]["status"] == "finished"


def test_a_running_run_is_listed_and_its_end_is_seen_at_once(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": WAIT_FOR_GO, ".gitignore": "ready\ngo\n"})
    proc = subprocess.Popen(
        [PY, "-m", "ledger", "run", "--", PY, "train.py"],
        cwd=tmp_repo.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until((tmp_repo.root / "ready").exists, "the child's start")
        wait_until(lambda: [r["status"] for r in runs_json()] == ["running"], "the running row")

        (tmp_repo.root / "go").touch()
        assert proc.wait(timeout=60) == 0
        (run,) = runs_json()  # straight after the wrapper's exit: no sleep, no retry
    finally:
        if proc.poll() is None:
            proc.kill()

    assert (run["status"], run["metrics"], run["exit_code"]) == ("finished", {"acc": 0.9}, 0)
    assert "trained" in ledger("log", run["id"]).stdout


def test_a_run_whose_recorder_was_killed_is_recorded_by_the_next_reader(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": WAIT_FOR_GO, ".gitignore": "ready\ngo\n"})
    spool = tmp_repo.root / ".git" / "ledger" / "spool"
    proc = subprocess.Popen(
        [PY, "-m", "ledger", "run", "--name", "orphan", "--", PY, "train.py"],
        cwd=tmp_repo.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until((tmp_repo.root / "ready").exists, "the child's start")
        wait_until(lambda: bool(_recorders(spool)), "the recorder's start")
        for pid in _recorders(spool):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not _recorders(spool), "the recorder's death")

        (tmp_repo.root / "go").touch()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()

    (run,) = runs_json()
    assert (run["name"], run["status"], run["metrics"]) == ("orphan", "finished", {"acc": 0.9})
    assert show_json(run["id"])["run"]["summary"]["exit_code"] == 0
    assert "trained" in ledger("log", run["id"]).stdout
    assert not list(spool.iterdir())  # nothing left waiting
