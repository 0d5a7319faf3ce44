"""Put `ledger run`'s records into the ledger: the detached recorder, and readers' settling.

See `ledger.delivery.handover` for why a run's record travels through its spool folder.
Whoever holds the folder's lock writes the run: normally the recorder, for the
whole life of the run; a reader that finds an ended run whose recorder never got
to it (killed, or still importing) does the same work itself. Every step can be
repeated, so a writer that dies half-way leaves nothing the next one cannot finish.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.errors import LedgerError, StoreError
from ledger.core.fileops import exclusive
from ledger.core.procinfo import HEARTBEAT_EVERY
from ledger.delivery import handover as run_records
from ledger.delivery import quarantine, spool
from ledger.store import writes as recorder

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.core.records import NewRun
    from ledger.store.engine import Store

SETTLE_WAIT = 30.0
"""How long a reader waits for the recorder of a run that has ended."""


def settle(store: Store, spool_dir: Path, *, wait: float = SETTLE_WAIT) -> None:
    """Make every run `ledger run` handed over visible: inserted, and finished if it ended.

    A reader calls this before reading, so what it shows matches what the terminal
    said. Runs still going whose recorder is alive are left to it (their row exists,
    or is about to).
    """
    for folder in run_records.handed_over(spool_dir):
        ended = (folder / run_records.END).is_file()
        lock = folder / run_records.LOCK
        with contextlib.suppress(FileNotFoundError), exclusive(lock, wait=wait if ended else 0.0) as mine:
            if mine:
                _write_or_set_aside(store, folder, ended=ended)


def _write_or_set_aside(store: Store, folder: Path, *, ended: bool) -> None:
    """Write the run; a record that cannot be read or written goes to the quarantine.

    Until the run has ended its wrapper may still write the end: the folder stays,
    and only this reader passes it by.
    """
    try:
        _write_what_is_there(store, folder)
    except Exception as e:
        if not quarantine.is_record_fault(e):
            raise
        if ended:
            quarantine.set_aside(folder.parent, folder, e)


def record_now(store: Store, folder: Path) -> None:
    """Write one handed-over run now, as a reader settling it would (the API's own run, at its end)."""
    with (
        contextlib.suppress(FileNotFoundError),
        exclusive(folder / run_records.LOCK, wait=SETTLE_WAIT) as mine,
    ):
        if mine:
            _write_what_is_there(store, folder)


def ensure_started(store: Store, spool_dir: Path, run_id: str) -> None:
    """Insert a handed-over run now if its recorder has not yet (the API in its child needs the row)."""
    start = run_records.read_start(spool.run_dir(spool_dir, run_id))
    if start is not None and start[0] == store.url:
        _insert(store, start[1])


def is_handed_over(spool_dir: Path, run_id: str) -> bool:
    """Whether the run's own end waits in its spool: it is not dead, only not yet recorded."""
    return (spool.run_dir(spool_dir, run_id) / run_records.END).is_file()


def main(argv: Sequence[str] | None = None) -> int:
    """Detached entry: `python -m ledger.delivery.recorder FOLDER FD`.

    A failure leaves the folder, with the traceback in its recorder.log: the next
    reader settles the run, and the run is never lost.
    """
    from ledger.store.engine import connect

    folder_arg, fd_arg = list(sys.argv[1:] if argv is None else argv)
    folder, fd = Path(folder_arg), int(fd_arg)
    with (
        contextlib.suppress(FileNotFoundError),
        exclusive(folder / run_records.LOCK, wait=SETTLE_WAIT) as mine,
    ):
        # No folder, or no start in it: a reader already wrote all of the run.
        start = run_records.read_start(folder) if mine else None
        if start is None:
            return 0  # or a reader holds the run, and writes what is there
        url, record = start
        store = connect(url)
        try:
            _insert(store, record)
            _wait_for_wrapper(store, record, fd)
            _write_what_is_there(store, folder)
            if run_records.read_start(folder) is not None:
                _wait_for_orphan(store, record, folder)
        finally:
            store.close()
    return 0


def _wait_for_wrapper(store: Store, record: NewRun, fd: int) -> None:
    """Block until the wrapper ends, proving the run alive to other hosts meanwhile."""
    while True:
        ready, _, _ = select.select([fd], [], [], HEARTBEAT_EVERY)
        if ready:
            if not os.read(fd, 1):
                return  # end of file: the wrapper exited or was killed
        else:
            # A missed heartbeat only delays crash detection on other hosts.
            with contextlib.suppress(LedgerError):
                recorder.heartbeat(store, record.id)


def _wait_for_orphan(store: Store, record: NewRun, folder: Path) -> None:
    """The wrapper was killed: wait for its command to end, then record the run as crashed
    with every point the command logged, those after the wrapper's death included."""
    from ledger.capture.orphans import child_alive
    from ledger.delivery.liveness import reap_dead_runs

    beat = time.monotonic()
    while child_alive(folder):
        time.sleep(0.2)
        if time.monotonic() - beat > HEARTBEAT_EVERY:
            beat = time.monotonic()
            with contextlib.suppress(LedgerError):
                recorder.heartbeat(store, record.id)
    reap_dead_runs(store, folder.parent)


def _write_what_is_there(store: Store, folder: Path) -> None:
    """Insert the run if needed and, if it ended, save its end and drop the folder.

    Without an end the run is still going, or its wrapper was killed: the reaper
    (`ledger.delivery.liveness`) marks it crashed once its process is gone.
    """
    from ledger.delivery.outbox import save_end

    start = run_records.read_start(folder)
    if start is None or start[0] != store.url:
        return  # written already, or meant for another ledger
    record = start[1]
    _insert(store, record)
    ended = run_records.read_end(folder)
    if ended is None:
        return
    end, series = ended
    save_end(store, folder.parent, record.id, end, series)
    spool.remove_run_dir(folder.parent, record.id)


def _insert(store: Store, record: NewRun) -> None:
    """Insert the run unless it is there: several processes may race to do it."""
    if recorder.run_exists(store, record.id):
        return
    try:
        recorder.create_run(store, record)
    except StoreError:
        if not recorder.run_exists(store, record.id):
            raise  # not the race: a real failure


if __name__ == "__main__":
    raise SystemExit(main())
