"""Whether a run's process still runs: the process table, read for real."""

from __future__ import annotations

import subprocess
import sys
import time

from ledger.core.procinfo import is_alive, process_start


def test_a_running_process_is_alive_and_a_reused_pid_is_not() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        start = process_start(proc.pid)

        assert is_alive(proc.pid, start)
        assert not is_alive(proc.pid, "1")  # another process's start time: the PID was reused
    finally:
        proc.kill()
        proc.wait()


def test_an_ended_process_not_yet_reaped_is_not_alive() -> None:
    """A killed wrapper's command is left to init, which may reap it late: a zombie ran."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    start = process_start(proc.pid)
    deadline = time.monotonic() + 30
    while _state(proc.pid) != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)

    alive = is_alive(proc.pid, start)
    proc.wait()

    assert not alive
    assert not is_alive(proc.pid, start)  # reaped: gone


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:  # noqa: PTH123
        return f.read().rsplit(")", 1)[-1].split()[0]
