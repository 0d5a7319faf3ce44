"""kill -9 of the `ledger run` wrapper: the command is stopped with it (SIGTERM), the run
stays `running` while the command still winds down, and every step it logged, those
after the wrapper's death included, is in the ledger once it ends, marked crashed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.helpers import alive, runs_json, runs_once_listed, show_json

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PY = sys.executable


@pytest.fixture(autouse=True)
def _ledger_at_head(tmp_repo: TmpRepo, migrated_ledger: Callable[[Path], Path]) -> None:
    """The repository's ledger, at the schema head before the wrapper starts: its first
    open is not what these tests are about."""
    migrated_ledger(tmp_repo.root / ".git" / "ledger" / "ledger.db")


TRAIN = """
import os, pathlib, signal, time
import ledger

stopping = []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
pathlib.Path("child.pid").write_text(str(os.getpid()))
step = 0
while not stopping:
    ledger.log_metrics({"loss": float(step)}, step=step)
    step += 1
    if step == 50:
        pathlib.Path("ready").touch()
    time.sleep(0.005)
pathlib.Path("stopping").write_text(str(step))
while not pathlib.Path("go-on").exists():  # the checkpoint a SIGTERM handler saves
    time.sleep(0.02)
for _ in range(100):
    ledger.log_metrics({"loss": float(step)}, step=step)
    step += 1
pathlib.Path("last-step").write_text(str(step - 1))
"""

IGNORES_SIGTERM = """
import os, pathlib, signal, time
import ledger

signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path("child.pid").write_text(str(os.getpid()))
for step in range(100000):
    ledger.log_metrics({"loss": float(step)}, step=step)
    if step == 50:
        pathlib.Path("ready").touch()
    if pathlib.Path("stop").exists():
        break
    time.sleep(0.005)
pathlib.Path("last-step").write_text(str(step))
"""


def _wait_for(path: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def _wait_gone(pid: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} is still alive"
        time.sleep(0.05)


def _start(repo: TmpRepo, script: str) -> subprocess.Popen[bytes]:
    repo.gen({"train.py": script, ".gitignore": "child.pid\nready\nstopping\ngo-on\nlast-step\nstop\n"})
    repo.commit("train")
    return subprocess.Popen(
        [PY, "-m", "ledger", "run", "--", PY, "train.py"],
        cwd=repo.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # as a terminal would: the wrapper only is killed below
    )


def _kill_wrapper(wrapper: subprocess.Popen[bytes]) -> None:
    os.kill(wrapper.pid, signal.SIGKILL)
    assert wrapper.wait(timeout=30) == -signal.SIGKILL


def test_the_command_stops_with_its_killed_wrapper_and_no_step_is_lost(tmp_repo: TmpRepo) -> None:
    wrapper = _start(tmp_repo, TRAIN)
    _wait_for(tmp_repo.root / "ready")
    child = int((tmp_repo.root / "child.pid").read_text())

    _kill_wrapper(wrapper)
    _wait_for(tmp_repo.root / "stopping", timeout=30)  # the command got SIGTERM

    # Still winding down: not crashed, nothing of its spool ingested and thrown away yet.
    (running,) = runs_once_listed(tmp_repo.root)
    assert running["status"] == "running"
    (tmp_repo.root / "go-on").touch()
    _wait_gone(child)
    last = int((tmp_repo.root / "last-step").read_text())

    (run,) = runs_json(cwd=tmp_repo.root)
    assert run["status"] == "crashed"
    series = show_json(run["id"], cwd=tmp_repo.root)["series"]
    assert series["loss"]["steps"] == list(range(last + 1))
    stopped_at = int((tmp_repo.root / "stopping").read_text())
    assert last == stopped_at + 99, "the steps logged after the wrapper died are kept"
    assert run["ended_at"] >= (tmp_repo.root / "stopping").stat().st_mtime, "it ended when the command did"


def test_a_command_that_ignores_sigterm_is_not_marked_crashed_while_it_runs(tmp_repo: TmpRepo) -> None:
    wrapper = _start(tmp_repo, IGNORES_SIGTERM)
    _wait_for(tmp_repo.root / "ready")
    child = int((tmp_repo.root / "child.pid").read_text())

    _kill_wrapper(wrapper)
    time.sleep(1.0)  # it trains on: the run says so, and loses nothing of what follows
    assert alive(child)
    (running,) = runs_json(cwd=tmp_repo.root)
    assert running["status"] == "running"
    (tmp_repo.root / "stop").touch()
    _wait_gone(child)
    last = int((tmp_repo.root / "last-step").read_text())

    (run,) = runs_json(cwd=tmp_repo.root)
    assert run["status"] == "crashed"
    assert show_json(run["id"], cwd=tmp_repo.root)["series"]["loss"]["steps"] == list(range(last + 1))


def test_a_wrapper_that_ends_normally_leaves_its_command_alone(tmp_repo: TmpRepo) -> None:
    """The negative case: the command's own end is recorded as before, with no SIGTERM."""
    tmp_repo.gen(
        {"train.py": "import ledger\nfor s in range(20):\n    ledger.log_metrics({'loss': s}, step=s)\n"}
    )
    tmp_repo.commit("train")

    proc = subprocess.run(
        [PY, "-m", "ledger", "run", "--", PY, "train.py"], cwd=tmp_repo.root, capture_output=True, check=False
    )

    assert proc.returncode == 0, proc.stderr
    (run,) = runs_json(cwd=tmp_repo.root)
    assert run["status"] == "finished"
    assert show_json(run["id"], cwd=tmp_repo.root)["series"]["loss"]["steps"] == list(range(20))
