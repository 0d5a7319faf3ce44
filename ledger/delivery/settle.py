"""Settle the runs `ledger run` handed over: a reader writes what their spool folders hold.

See `ledger.delivery.handover` for why a run's record travels through its spool folder,
and `ledger.delivery.recorder` for the detached process that normally writes it.
Whoever holds the folder's lock writes the run. Every step can be repeated, so a
writer that dies half-way leaves nothing the next one cannot finish.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from ledger.core.errors import StoreError
from ledger.core.fileops import exclusive
from ledger.delivery import handover as run_records
from ledger.delivery import quarantine, spool
from ledger.delivery.save import save_end
from ledger.store import writes as recorder

if TYPE_CHECKING:
    from pathlib import Path

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
        write_what_is_there(store, folder)
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
            write_what_is_there(store, folder)


def ensure_started(store: Store, spool_dir: Path, run_id: str) -> None:
    """Insert a handed-over run now if its recorder has not yet (the API in its child needs the row)."""
    start = run_records.read_start(spool.run_dir(spool_dir, run_id))
    if start is not None and start[0] == store.url:
        insert_once(store, start[1])


def is_handed_over(spool_dir: Path, run_id: str) -> bool:
    """Whether the run's own end waits in its spool: it is not dead, only not yet recorded."""
    return (spool.run_dir(spool_dir, run_id) / run_records.END).is_file()


def write_what_is_there(store: Store, folder: Path) -> None:
    """Insert the run if needed and, if it ended, save its end and drop the folder.

    Without an end the run is still going, or its wrapper was killed: the reaper
    (`ledger.delivery.liveness`) marks it crashed once its process is gone.
    """
    start = run_records.read_start(folder)
    if start is None or start[0] != store.url:
        return  # written already, or meant for another ledger
    record = start[1]
    insert_once(store, record)
    ended = run_records.read_end(folder)
    if ended is None:
        return
    end, series = ended
    save_end(store, folder.parent, record.id, end, series)
    spool.remove_run_dir(folder.parent, record.id)


def insert_once(store: Store, record: NewRun) -> None:
    """Insert the run unless it is there: several processes may race to do it."""
    if recorder.run_exists(store, record.id):
        return
    try:
        recorder.create_run(store, record)
    except StoreError:
        if not recorder.run_exists(store, record.id):
            raise  # not the race: a real failure
