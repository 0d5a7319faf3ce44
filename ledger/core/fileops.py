"""Files that other processes read while this one may die: atomic writes and locks.

The ledger's side files (hook events, a run's record on its way to the database) are
read by processes that start later or run at the same time. A reader must never see
half a file, and a file written just before a power cut must still be there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def write_durably(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: aside, fsync'ed, renamed, directory fsync'ed."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.rename(path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` survive a crash (best effort)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def exclusive(path: Path, *, wait: float) -> Iterator[bool]:
    """Hold an exclusive lock on `path`, waiting up to `wait` seconds; yields whether it did.

    The lock goes with the process: one that dies holding it frees it at once.
    """
    deadline = time.monotonic() + wait
    with path.open("a") as f:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
