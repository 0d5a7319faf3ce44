"""Status truth: a run whose process died without saying so is marked `crashed`.

Checked by every command that reads runs, so a `kill -9` shows up the next time
anyone looks, with every metric the run logged before it died. A run whose wrapper
died is not dead while its command still runs (`ledger.capture.orphans`).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from ledger.capture.orphans import child_alive, last_sign_of_life
from ledger.core.ids import RunId
from ledger.core.procinfo import owners_gone
from ledger.delivery import spool
from ledger.delivery.recorder import is_handed_over, settle
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
    for run_id in dead:
        # A command that outlived its killed wrapper ended when it last wrote to the spool.
        ended = last_sign_of_life(spool.run_dir(spool_dir, run_id)) or _last_sign_of_life(store, run_id)
        ingest_spool(store, spool_dir, run_id)
        writes.set_status(store, run_id, status="crashed", ended_at=ended)
        spool.remove_run_dir(spool_dir, run_id)
    return dead


def ingest_spool(store: Store, spool_dir: Path, run_id: RunId) -> int:
    """Write every point left in a run's spool files to the ledger; returns how many.

    Points already flushed may be written again: readers keep one value per step,
    so this is safe to repeat.
    """
    count = 0
    for path in spool.pending_points_files(spool_dir, run_id):
        series = spool.read_points(path)
        writes.add_points(store, run_id, series)
        count += sum(len(p) for p in series.values())
        path.unlink(missing_ok=True)
    _ingest_extras(store, spool_dir, run_id)
    log = spool.run_dir(spool_dir, run_id) / spool.LOG_NAME
    if log.exists():
        from ledger.capture.log_tee import compress_log

        data = log.read_bytes()
        writes.store_log(store, run_id, compress_log(data), size=len(data), truncated=False)
        log.unlink(missing_ok=True)  # the raw copy may hold secrets the stored one has masked
    return count


def _ingest_extras(store: Store, spool_dir: Path, run_id: RunId) -> None:
    """Params and tags a run logged while its ledger was unreachable (`outbox.spool_extras`)."""
    from ledger.core.records import Param
    from ledger.delivery.outbox import EXTRAS_PREFIX

    folder = spool.run_dir(spool_dir, run_id)
    if not folder.is_dir():
        return
    for path in sorted(folder.glob(f"{EXTRAS_PREFIX}*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill
            params = [Param(key=k, value=v, source=s) for k, v, s in entry.get("params", [])]
            if params:
                writes.add_params(store, run_id, params)
            if entry.get("tags"):
                writes.add_tags(store, [run_id], entry["tags"])
        path.unlink(missing_ok=True)


def _last_sign_of_life(store: Store, run_id: RunId) -> float:
    with store.reading() as session:
        beat = session.scalar(select(tables.RunRow.heartbeat_at).where(tables.RunRow.id == run_id))
    return beat if beat is not None else time.time()
