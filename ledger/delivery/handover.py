"""`ledger run` on a SQLite ledger hands its record to a detached recorder process.

Importing SQLAlchemy and the models costs more than the rest of `ledger run`'s
overhead together (`benchmarks/bench_capture_overhead.py`). So the wrapper
never imports them: it writes the run's start and end to its spool folder (whole
files, fsync'ed) and a detached `python -m ledger.delivery.recorder` puts them in the
ledger, importing SQLAlchemy on the other core while the snapshot is taken and
the command runs. The wrapper does not wait for it; every reader of the ledger
(`ledger.delivery.settle.settle`, called wherever dead runs are reaped) first waits
for, or does, the recorder's work, so `ledger run ...; ledger list` still shows
the finished run. A team ledger (a server) is written directly, as before: its
writes can fail in ways the user must see at once (`ledger.delivery.outbox`).

The recorder learns that the wrapper ended from a pipe whose writing end only the
wrapper holds: it reads end-of-file whether the wrapper exited or was killed.

`pickle` is imported where records are read or written: `ledger list` imports this
module only to look for waiting runs, and every millisecond of it is measured against
`dvc exp show`.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ledger.core.fileops import exclusive, write_durably
from ledger.core.urls import sqlite_file

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from ledger.core.chunks import Points
    from ledger.core.records import NewRun, RunEnd

START = "start.pickle"
END = "end.pickle"
LOCK = "recorder.lock"
"""Held by whoever writes the run to the ledger: its recorder, or a reader settling it."""
RECORDER_LOG = "recorder.log"
"""The recorder's stderr; left in the spool folder only when it failed."""


def deferrable(url: str) -> bool:
    """Whether runs of this ledger are recorded through the detached recorder: a SQLite
    file (an in-memory database lives and dies with one process)."""
    return sqlite_file(url) is not None


def write_start(folder: Path, url: str, record: NewRun) -> None:
    """Keep the run as it starts, and the ledger it goes to, for the recorder to insert."""
    import pickle

    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_durably(folder / START, pickle.dumps((url, record), protocol=pickle.HIGHEST_PROTOCOL))


def write_end(folder: Path, end: RunEnd, series: Mapping[str, Mapping[str, Points]]) -> None:
    """Keep the run's end and the series read from its files (by file); the run is
    complete on disk from here."""
    import pickle

    by_file = {source: dict(found) for source, found in series.items()}
    write_durably(folder / END, pickle.dumps((end, by_file), protocol=pickle.HIGHEST_PROTOCOL))


def read_start(folder: Path) -> tuple[str, NewRun] | None:
    """The run's ledger URL and start record, or None once the run is wholly in the ledger."""
    import pickle

    try:
        start: tuple[str, NewRun] = pickle.loads((folder / START).read_bytes())  # noqa: S301 - our own file, in .git
    except FileNotFoundError:
        return None
    return start


def read_end(folder: Path) -> tuple[RunEnd, dict[str, dict[str, Points]]] | None:
    """The run's end record, or None while it runs (or after a kill -9 of the wrapper)."""
    import pickle

    try:
        end: tuple[RunEnd, dict[str, dict[str, Points]]] = pickle.loads((folder / END).read_bytes())  # noqa: S301
    except FileNotFoundError:
        return None
    return end


def spawn_recorder(folder: Path) -> int | None:
    """Start the detached recorder of the run in `folder`; returns the pipe end to keep open.

    Closing that descriptor (at exit, or by the kernel when the wrapper is killed)
    tells the recorder the wrapper is gone. The recorder runs in its own session, so
    Ctrl-C in the terminal does not reach it. If it cannot start, the run goes on:
    the next command that reads the ledger records it (`ledger.delivery.settle.settle`).
    """
    import subprocess  # not at the top: `ledger list` imports this module too

    reader, writer = os.pipe()
    os.set_inheritable(writer, False)
    try:
        with (folder / RECORDER_LOG).open("ab") as log:
            subprocess.Popen(
                [sys.executable, "-m", "ledger.delivery.recorder", str(folder), str(reader)],
                pass_fds=(reader,),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
    except OSError:
        os.close(writer)
        return None
    finally:
        os.close(reader)
    return writer


def handed_over(spool_dir: Path) -> list[Path]:
    """The spool folders of runs handed to a recorder and not yet wholly in the ledger."""
    try:
        return sorted(f for f in spool_dir.iterdir() if (f / START).is_file())
    except OSError:
        return []


def waiting(spool_dir: Path) -> bool:
    """Whether a handed-over run waits for a reader to settle it: it ended, or no live
    recorder holds it (it crashed, or has not started yet)."""
    for folder in handed_over(spool_dir):
        if (folder / END).is_file():
            return True
        try:
            with exclusive(folder / LOCK, wait=0.0) as free:
                if free:
                    return True
        except FileNotFoundError:
            continue  # settled and removed meanwhile
    return False
