"""A command whose `ledger run` wrapper was killed must not train on unsupervised.

The kernel sends the command SIGTERM when its wrapper dies (Linux's
PR_SET_PDEATHSIG), the signal a scheduler or `kill` sends to stop a job: a script
that saves a checkpoint on SIGTERM still can. The wrapper notes the command's PID
in the run's spool folder; while that process lives the run is not dead (it is
neither marked crashed nor is its spool ingested), so every point it logs until
its very end is kept, and the run's end time is when it really ended.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import TYPE_CHECKING

from ledger.core.procinfo import is_alive, process_start

if TYPE_CHECKING:
    from collections.abc import Callable, Collection
    from pathlib import Path

CHILD = "child.pid"
"""The command's PID and start time, in its run's spool folder."""

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGTERM when this process dies (Linux only).

    libc is loaded here, before the fork: the function itself only makes two system
    calls, which is all that is safe between fork and exec.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def _arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the wrapper died before the line above
            os.kill(os.getpid(), signal.SIGTERM)

    return _arm


def note_child(folder: Path, pid: int) -> None:
    """Record the command's process in its run's spool folder."""
    with contextlib.suppress(OSError):
        (folder / CHILD).write_text(f"{pid} {process_start(pid) or ''}\n")


def child_alive(folder: Path) -> bool:
    """Whether the command of the run in `folder` still runs (its wrapper may not)."""
    try:
        pid_text, *start = (folder / CHILD).read_text().split()
    except (OSError, ValueError):
        return False
    return is_alive(int(pid_text), start[0] if start else None)


def last_sign_of_life(folder: Path, *, besides: Collection[str] = ()) -> float | None:
    """When the run last wrote to its spool: the end of a command that outlived its wrapper.

    `besides` names files others write there (a lock a reader creates as it ends the run).
    """
    try:
        return max(
            (p.stat().st_mtime for p in folder.iterdir() if p.name != CHILD and p.name not in besides),
            default=None,
        )
    except OSError:
        return None
