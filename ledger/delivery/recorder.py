"""The detached recorder: puts a `ledger run`'s record into the ledger for the whole life
of the run.

See `ledger.delivery.handover` for why a run's record travels through its spool folder.
Whoever holds the folder's lock writes the run: normally the recorder; a reader that
finds an ended run whose recorder never got to it (killed, or still importing) does
the same work itself (`ledger.delivery.settle`).
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.capture.orphans import child_alive
from ledger.core.errors import LedgerError
from ledger.core.fileops import exclusive
from ledger.core.procinfo import HEARTBEAT_EVERY
from ledger.delivery import handover as run_records
from ledger.delivery.liveness import end_dead_run
from ledger.delivery.settle import SETTLE_WAIT, insert_once, write_what_is_there
from ledger.store import writes as recorder
from ledger.store.engine import connect

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.core.records import NewRun
    from ledger.store.engine import Store


def main(argv: Sequence[str] | None = None) -> int:
    """Detached entry: `python -m ledger.delivery.recorder FOLDER FD`.

    A failure leaves the folder, with the traceback in its recorder.log: the next
    reader settles the run, and the run is never lost.
    """
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
            insert_once(store, record)
            _wait_for_wrapper(store, record, fd)
            write_what_is_there(store, folder)
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
    beat = time.monotonic()
    while child_alive(folder):
        time.sleep(0.2)
        if time.monotonic() - beat > HEARTBEAT_EVERY:
            beat = time.monotonic()
            with contextlib.suppress(LedgerError):
                recorder.heartbeat(store, record.id)
    end_dead_run(store, folder.parent, record.id)  # this process holds the run's lock


if __name__ == "__main__":
    raise SystemExit(main())
