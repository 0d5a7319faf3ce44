"""What the OS says about a process, with the standard library only (capture starts fast)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

HEARTBEAT_EVERY = 60.0
"""How often a live run proves it is alive (well inside STALE_AFTER)."""


def process_start(pid: int) -> str | None:
    """The start time of process `pid` (Linux clock ticks since boot), None if unknown.

    Comparing it guards against a PID reused by an unrelated process.
    """
    fields = _stat_fields(pid)
    return None if fields is None else fields[19]


def _stat_fields(pid: int) -> list[str] | None:
    """`/proc/<pid>/stat` after the command name (state first), None where there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()


STALE_AFTER = 600.0
"""Seconds without a heartbeat after which a run on another host counts as dead."""


def is_alive(pid: int, started: str | None) -> bool:
    """Whether the process that owned a run still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process with that PID: assume it is ours
    fields = _stat_fields(pid)
    if fields is not None and fields[0] in ("Z", "X"):
        return False  # it ended; its parent (init, for a killed wrapper's command) has not reaped it
    if started is None:
        return True
    return fields is None or fields[19] == started


def hostname() -> str:
    """This machine's name as runs record it: `socket.gethostname()`, without importing
    `socket`, which every `ledger list` would pay for; both read uname's nodename on POSIX."""
    return os.uname().nodename


def owners_gone(rows: Iterable[tuple[str, str | None, int | None, str | None, float | None]]) -> list[str]:
    """IDs of `running` runs whose process is gone: `rows` are (id, host, pid, pid_start, heartbeat_at).

    On this host the process table says; from another host only a heartbeat older
    than STALE_AFTER does.
    """
    host, now = hostname(), time.time()
    gone = []
    for run_id, run_host, pid, pid_start, beat in rows:
        if run_host == host and pid is not None:
            dead = not is_alive(pid, pid_start)
        else:
            dead = beat is not None and now - beat > STALE_AFTER
        if dead:
            gone.append(run_id)
    return gone
