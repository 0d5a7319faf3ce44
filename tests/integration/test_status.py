"""Status truth: failed, interrupted and crashed runs, and many writers at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger, runs_json, runs_once_listed, show_json

if TYPE_CHECKING:
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PY = sys.executable

LOG_THEN_WAIT = """
import pathlib, time, ledger
{start}
for step in range(10):
    ledger.log_metrics({{"loss": 1.0 / (step + 1)}}, step=step)
pathlib.Path("ready").write_text("x")
time.sleep(60)
"""


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def _spawn(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    # Slow flushes prove the points survive through the spool, not a lucky timer.
    env = {**os.environ, "LEDGER_FLUSH_INTERVAL": "600"}
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # As a shell starts a foreground job: a suite started in the background (`&`)
        # ignores SIGINT, and an ignored signal stays ignored across exec.
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_kill_9_of_an_api_run_shows_crashed_with_its_metrics(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": LOG_THEN_WAIT.format(start="ledger.log_params({'lr': 0.1})")})
    proc = _spawn([PY, "train.py"], tmp_repo.root)
    _wait_for(tmp_repo.root / "ready")

    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    run = runs_once_listed()[0]
    assert run["status"] == "crashed"
    assert run["metrics"] == {"loss": 0.1}
    assert show_json(run["id"])["series"]["loss"]["steps"] == list(range(10))


def test_kill_9_of_ledger_run_and_its_child_shows_crashed(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": LOG_THEN_WAIT.format(start="print('started', flush=True)")})
    proc = _spawn([PY, "-m", "ledger", "run", "--", PY, "train.py"], tmp_repo.root)
    _wait_for(tmp_repo.root / "ready")
    # The wrapper's pump copies the child's first line into the spool a moment later.
    spooled = tmp_repo.root / ".git" / "ledger" / "spool"
    deadline = time.monotonic() + 30
    while not any(b"started" in log.read_bytes() for log in spooled.glob("*/output.log")):
        assert time.monotonic() < deadline, "the log never reached the spool"
        time.sleep(0.05)

    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    run = runs_once_listed()[0]
    assert run["status"] == "crashed"
    assert show_json(run["id"])["series"]["loss"]["values"][-1] == 0.1
    assert "started" in ledger("log", run["id"]).stdout


def test_ctrl_c_marks_the_run_interrupted(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": LOG_THEN_WAIT.format(start="")})
    proc = _spawn([PY, "-m", "ledger", "run", "--", PY, "train.py"], tmp_repo.root)
    _wait_for(tmp_repo.root / "ready")

    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    code = proc.wait(timeout=30)

    assert code == 130
    run = runs_json()[0]
    assert run["status"] == "interrupted"
    assert run["metrics"] == {"loss": 0.1}


def test_ctrl_c_runs_the_scripts_exit_handlers_then_ends_by_sigint(tmp_repo: TmpRepo) -> None:
    """A checkpoint-on-exit handler still runs, and a shell still sees death by SIGINT."""
    script = (
        "import atexit, pathlib\n"
        "atexit.register(lambda: pathlib.Path('before').touch())\n"
        "import ledger\n"
        "ledger.log_metrics({'loss': 0.5})\n"
        "atexit.register(lambda: pathlib.Path('after').touch())\n"
        "raise KeyboardInterrupt\n"
    )
    tmp_repo.gen({"train.py": script})

    proc = subprocess.run([PY, "train.py"], cwd=tmp_repo.root, capture_output=True, check=False)

    assert proc.returncode == -signal.SIGINT
    assert (tmp_repo.root / "before").exists()
    assert (tmp_repo.root / "after").exists()
    (run,) = runs_json()
    assert (run["status"], run["metrics"]) == ("interrupted", {"loss": 0.5})


def test_keyboard_interrupt_inside_start_run_is_interrupted(tmp_repo: TmpRepo) -> None:
    script = (
        "import ledger\n"
        "try:\n"
        "    with ledger.start_run(name='ki'):\n"
        "        ledger.log_metrics({'a': 1.0})\n"
        "        raise KeyboardInterrupt\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
        "with ledger.start_run(name='boom'):\n"
        "    raise SystemExit(2)\n"
    )
    tmp_repo.gen({"train.py": script})

    subprocess.run([PY, "train.py"], cwd=tmp_repo.root, check=False)

    statuses = {r["name"]: r["status"] for r in runs_json()}
    assert statuses == {"ki": "interrupted", "boom": "failed"}


def test_eight_processes_logging_at_once_lose_nothing(tmp_repo: TmpRepo) -> None:
    script = (
        "import sys, ledger\n"
        "for step in range(3000):\n"
        "    ledger.log_metrics({'loss': step * 0.5, 'acc': step / 3000, 'lr': 0.1}, step=step)\n"
        "    if step % 1000 == 0:\n"
        "        ledger.current_run().flush()\n"
    )
    tmp_repo.gen({"train.py": script})
    procs = [
        _spawn([PY, "-m", "ledger", "run", "--name", f"w{i}", "--", PY, "train.py"], tmp_repo.root)
        for i in range(8)
    ]

    codes = [p.wait(timeout=300) for p in procs]

    assert codes == [0] * 8
    runs = runs_json()
    assert sorted(r["name"] for r in runs) == [f"w{i}" for i in range(8)]
    for run in runs:
        assert run["status"] == "finished"
        series = show_json(run["id"])["series"]
        assert {k: len(v["steps"]) for k, v in series.items()} == {"loss": 3000, "acc": 3000, "lr": 3000}
        assert run["metrics"]["loss"] == 2999 * 0.5
