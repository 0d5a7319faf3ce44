"""Status truth: a run whose process died without saying so is marked `crashed`.

Checked by every command that reads runs, so a `kill -9` shows up the next time
anyone looks, with every metric the run logged before it died and what the end of a
`ledger run` reads from the files it left (`ledger.capture.late_end`). A run whose wrapper
died is not dead while its command still runs (`ledger.capture.orphans`).
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from ledger.capture.orphans import child_alive, last_sign_of_life
from ledger.core.errors import StoreDeniedError
from ledger.core.fileops import exclusive
from ledger.core.ids import RunId
from ledger.core.procinfo import owners_gone
from ledger.core.records import RunEnd
from ledger.delivery import spool
from ledger.delivery.handover import LOCK, RECORDER_LOG
from ledger.delivery.save import ingest_spool, save_end
from ledger.delivery.settle import SETTLE_WAIT, is_handed_over, settle
from ledger.store import tables, writes

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.store.engine import Store


def reap_dead_runs(store: Store, spool_dir: Path) -> list[RunId]:
    """Mark dead `running` runs as crashed, after saving what their spool holds.

    Runs `ledger run` handed to a recorder are settled first: a wrapper that exited
    normally is dead too, but its run ended as its end record says.
    """
    settle(store, spool_dir)
    with store.reading() as session:
        rows = session.execute(
            select(
                tables.RunRow.id,
                tables.RunRow.host,
                tables.RunRow.pid,
                tables.RunRow.pid_start,
                tables.RunRow.heartbeat_at,
            ).where(tables.RunRow.status == "running")
        ).all()
    dead = [
        RunId(run_id)
        for run_id in owners_gone(rows)
        if not is_handed_over(spool_dir, run_id) and not child_alive(spool.run_dir(spool_dir, run_id))
    ]
    reaped = []
    for run_id in dead:
        folder = spool.run_dir(spool_dir, run_id)
        try:
            if not folder.is_dir():
                end_dead_run(store, spool_dir, run_id)
            else:
                # Its recorder may be taking its end now: the one holding the lock does.
                with (
                    contextlib.suppress(FileNotFoundError),
                    exclusive(folder / LOCK, wait=SETTLE_WAIT) as mine,
                ):
                    if mine and end_dead_run(store, spool_dir, run_id):
                        reaped.append(run_id)
                continue
        except StoreDeniedError:
            continue  # a team ledger's run only its owner may end: their next command will
        reaped.append(run_id)
    return reaped


def end_dead_run(store: Store, spool_dir: Path, run_id: RunId) -> bool:
    """End a run whose processes are gone as crashed; whether it was still running.

    A `ledger run` whose wrapper was killed gets the end the wrapper would have given
    it (`ledger.capture.late_end`); a run that cannot gets what its spool holds. The
    caller holds the run's spool lock, if it has a spool folder.
    """
    if not _running(store, run_id):
        return False  # another reader or its recorder ended it first
    from ledger.capture import late_end  # the end-of-run capture: only a dead run needs it

    folder = spool.run_dir(spool_dir, run_id)
    # A command that outlived its killed wrapper ended when it last wrote to the spool.
    ended = last_sign_of_life(folder, besides=(LOCK, RECORDER_LOG)) or _last_sign_of_life(store, run_id)
    if late_end.has_before(folder):
        until = _next_start(store, run_id, after=ended) or time.time()
        try:
            end, series = late_end.late_end(folder, run_id, status="crashed", ended_at=ended, until=until)
        except Exception as e:  # noqa: BLE001 - a reader never fails on what a dead run left
            problem = f"what the run left could not be read after its wrapper died: {type(e).__name__}: {e}"
            end, series = RunEnd(status="crashed", ended_at=ended, capture_errors=[problem]), {}
        save_end(store, spool_dir, run_id, end, series)
    else:
        ingest_spool(store, spool_dir, run_id)
        writes.set_status(store, run_id, status="crashed", ended_at=ended)
    spool.remove_run_dir(spool_dir, run_id)
    return True


def _running(store: Store, run_id: RunId) -> bool:
    with store.reading() as session:
        return session.scalar(select(tables.RunRow.status).where(tables.RunRow.id == run_id)) == "running"


def _next_start(store: Store, run_id: RunId, *, after: float) -> float | None:
    """When the first run in the same repository started after `after`: a file changed
    since may be that run's, so the dead run does not claim it."""
    run = tables.RunRow
    with store.reading() as session:
        repo = session.scalar(select(run.repo).where(run.id == run_id))
        return session.scalar(
            select(func.min(run.started_at)).where(run.repo == repo, run.started_at > after, run.id != run_id)
        )


def _last_sign_of_life(store: Store, run_id: RunId) -> float:
    with store.reading() as session:
        beat = session.scalar(select(tables.RunRow.heartbeat_at).where(tables.RunRow.id == run_id))
    return beat if beat is not None else time.time()
