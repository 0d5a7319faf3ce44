"""Save what a run's spool holds into a ledger: the points and the params and tags it kept
there, its log, and at the end the run's final state."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ledger.capture.log_scalars import LOG_SOURCE
from ledger.capture.log_tee import compress_log
from ledger.core.ids import RunId
from ledger.core.records import Param
from ledger.delivery import spool
from ledger.store import writes

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from ledger.core.chunks import Points
    from ledger.core.records import RunEnd
    from ledger.store.engine import Store


def save_end(
    store: Store, spool_dir: Path, run_id: str, end: RunEnd, series: Mapping[str, Mapping[str, Points]]
) -> None:
    """Save a run's end: what its spool still holds, the series its files held (by file),
    its final state.

    Series read from the log come last, and only for keys nothing else recorded: what
    the script logged through the API, or its files held, is the better record.
    """
    ingest_spool(store, spool_dir, RunId(run_id))
    for source, found in series.items():
        writes.add_points(store, RunId(run_id), found, source=source)
    if end.log_series:
        taken = writes.metric_keys(store, RunId(run_id))
        fresh = {k: p for k, p in end.log_series.items() if k not in taken}
        writes.add_points(store, RunId(run_id), fresh, source=LOG_SOURCE)
    writes.finish_run(store, RunId(run_id), end)


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
        data = log.read_bytes()
        writes.store_log(store, run_id, compress_log(data), size=len(data), truncated=False)
        log.unlink(missing_ok=True)  # the raw copy may hold secrets the stored one has masked
    return count


def _ingest_extras(store: Store, spool_dir: Path, run_id: RunId) -> None:
    """Params and tags a run logged while its ledger was unreachable (`ledger.delivery.spool.write_extras`)."""
    folder = spool.run_dir(spool_dir, run_id)
    if not folder.is_dir():
        return
    for path in sorted(folder.glob(f"{spool.EXTRAS_PREFIX}*.jsonl")):
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
