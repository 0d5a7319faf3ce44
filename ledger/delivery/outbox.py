"""The local outbox: where a run's record waits while its ledger server is unreachable.

A training run must never fail, nor lose its record, because the team's ledger
server is down, restarting or refusing a login. The outbox is an ordinary SQLite
ledger next to the spool (`<ledger dir>/outbox.db`, WAL, fsync'd): a run that
cannot reach the server at its start records itself there from the beginning; a
run that loses the server on the way writes its whole record there at its end
(its spool kept every metric point the server did not take). `ledger sync`, or the
end of the next run that reaches the server, copies the finished runs over with
`ledger.store.transfer` (a merge, so a run the server half-holds is completed) and only
then deletes them from the outbox.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from ledger.core.errors import LedgerError, StoreDeniedError, StoreUnreachableError
from ledger.core.urls import sqlite_url
from ledger.delivery.liveness import reap_dead_runs
from ledger.delivery.save import save_end
from ledger.store import tables
from ledger.store import writes as recorder
from ledger.store.engine import connect
from ledger.store.workspace import forget_shared_store, shared_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from ledger.core.chunks import Points
    from ledger.core.records import NewRun, RunEnd
    from ledger.store.engine import Store
    from ledger.store.transfer import CopyReport
    from ledger.store.workspace import Workspace

OUTBOX_NAME = "outbox.db"

_log = logging.getLogger("ledger")


def outbox_path(ws: Workspace) -> Path:
    """The outbox file of a workspace (beside the spool, in the git common dir)."""
    return ws.spool_dir.parent / OUTBOX_NAME


def outbox_url(ws: Workspace) -> str:
    """The outbox as a ledger URL."""
    return sqlite_url(outbox_path(ws))


def start_run(ws: Workspace, record: NewRun) -> tuple[Store, Workspace]:
    """Open the workspace's ledger and insert the new run, or queue it in the outbox.

    Returns the store the run lives in and the workspace to hand to the run's
    child (its `url` is the outbox's when the run was queued).
    """
    try:
        store = shared_store(ws)
    except StoreUnreachableError as e:
        return _queue_start(ws, record, e)
    except StoreDeniedError as e:
        return _keep_denied(ws, record, e)
    try:
        recorder.create_run(store, record)
    except StoreUnreachableError as e:
        forget_shared_store(store)
        store.close()
        return _queue_start(ws, record, e)
    except StoreDeniedError as e:
        return _keep_denied(ws, record, e)
    return store, ws


def finish_run(
    ws: Workspace, store: Store, record: NewRun, end: RunEnd, *, series: Mapping[str, Mapping[str, Points]]
) -> bool:
    """Save a run's end in `store`, the run's ledger; True if queued.

    When the server went away during the run, the whole record goes to the outbox
    instead: the run row as it started (`record`), every point still in the spool, the end.
    """
    try:
        save_end(store, ws.spool_dir, record.id, end, series)
    except StoreUnreachableError as e:
        _warn(f"{e.message}; run {record.id[:12]} is queued in the local outbox")
    else:
        if store.url == outbox_url(ws):
            return True  # queued since its start
        deliver_quietly(ws, store)
        return False
    box = connect(outbox_url(ws))
    try:
        with box.reading() as session:
            known = session.get(tables.RunRow, record.id) is not None
        if not known:
            recorder.create_run(box, record)
        save_end(box, ws.spool_dir, record.id, end, series)
    finally:
        box.close()
    return True


def pending(ws: Workspace) -> int:
    """How many runs wait in the outbox."""
    if not outbox_path(ws).exists():
        return 0
    box = connect(outbox_url(ws))
    try:
        with box.reading() as session:
            return int(session.scalar(select(func.count()).select_from(tables.RunRow)) or 0)
    finally:
        box.close()


def deliver(
    ws: Workspace, target: Store, *, progress: Callable[[int, int], None] | None = None
) -> CopyReport | None:
    """Copy every ended run in the outbox into `target`, then drop it from the outbox.

    Runs still going (queued at their start, training now) stay; runs whose process
    died are first marked crashed, with what their spool holds. Returns None when
    there is no outbox or another process is delivering it right now.
    """
    path = outbox_path(ws)
    if not path.exists():
        return None
    # Only a machine whose runs once missed their server has an outbox to copy from.
    from ledger.store.archive import delete_runs
    from ledger.store.transfer import copy_runs

    with _exclusive(path) as mine:
        if not mine:
            return None
        box = connect(outbox_url(ws))
        try:
            reap_dead_runs(box, ws.spool_dir)
            with box.reading() as session:
                ids = list(
                    session.scalars(
                        select(tables.RunRow.id)
                        .where(tables.RunRow.status != "running")
                        .order_by(tables.RunRow.id)
                    )
                )
            report = copy_runs(box, target, ids, progress=progress)
            refused = {run_id for run_id, _ in report.refused}  # kept, and named, for the next try
            delete_runs(box, [i for i in ids if i not in refused])
        finally:
            box.close()
    return report


def deliver_quietly(ws: Workspace, target: Store) -> None:
    """Deliver the outbox at the end of a run that reached the server; never fails the run."""
    if target.is_sqlite or not outbox_path(ws).exists():
        return
    try:
        report = deliver(ws, target)
    except LedgerError as e:
        _warn(f"could not deliver the local outbox yet: {e.message}")
        return
    if report is not None and report.total:
        _warn(f"delivered {report.total} queued run(s) from the local outbox")


def _queue_start(ws: Workspace, record: NewRun, error: StoreUnreachableError) -> tuple[Store, Workspace]:
    _warn(
        f"{error.message}; recording run {record.id[:12]} in the local outbox "
        "(`ledger sync` or the next run delivers it)"
    )
    return _queue(ws, record)


def _keep_denied(ws: Workspace, record: NewRun, error: StoreDeniedError) -> tuple[Store, Workspace]:
    _warn(
        f"{error.message.removesuffix('.')}: this role may not record runs in the ledger; "
        f"run {record.id[:12]} is kept in the local outbox (`ledger sync` delivers it once "
        "the ledger's owner runs `ledger db grant ROLE --write`)"
    )
    return _queue(ws, record)


def _queue(ws: Workspace, record: NewRun) -> tuple[Store, Workspace]:
    queued = dataclasses.replace(ws, url=outbox_url(ws))
    store = connect(queued.url)
    recorder.create_run(store, record)
    return store, queued


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[bool]:
    """A non-blocking lock beside the outbox: one deliverer at a time, others move on."""
    lock = path.with_suffix(".lock")
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _warn(message: str) -> None:
    _log.warning("ledger: warning: %s", message)
