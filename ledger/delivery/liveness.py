"""Status truth: a run whose process died without saying so is marked `crashed`.

Checked by every command that reads runs, so a `kill -9` shows up the next time
anyone looks, with every metric the run logged before it died. A run whose wrapper
died is not dead while its command still runs (`ledger.capture.orphans`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from ledger.capture.orphans import child_alive, last_sign_of_life
from ledger.core.errors import StoreDeniedError
from ledger.core.ids import RunId
from ledger.core.procinfo import owners_gone
from ledger.delivery import spool
from ledger.delivery.save import ingest_spool
from ledger.delivery.settle import is_handed_over, settle
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
        # A command that outlived its killed wrapper ended when it last wrote to the spool.
        ended = last_sign_of_life(spool.run_dir(spool_dir, run_id)) or _last_sign_of_life(store, run_id)
        try:
            ingest_spool(store, spool_dir, run_id)
            writes.set_status(store, run_id, status="crashed", ended_at=ended)
        except StoreDeniedError:
            continue  # a team ledger's run only its owner may end: their next command will
        spool.remove_run_dir(spool_dir, run_id)
        reaped.append(run_id)
    return reaped


def _last_sign_of_life(store: Store, run_id: RunId) -> float:
    with store.reading() as session:
        beat = session.scalar(select(tables.RunRow.heartbeat_at).where(tables.RunRow.id == run_id))
    return beat if beat is not None else time.time()
