"""What the OS says about a process, with the standard library only (capture starts fast)."""

from __future__ import annotations

from pathlib import Path

HEARTBEAT_EVERY = 60.0
"""How often a live run proves it is alive (well inside liveness.STALE_AFTER)."""


def process_start(pid: int) -> str | None:
    """The start time of process `pid` (Linux clock ticks since boot), None if unknown.

    Comparing it guards against a PID reused by an unrelated process.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]
