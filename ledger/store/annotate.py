"""Additions to runs that already exist: seeds, output hashes, environments, reproduction links."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from ledger.store import tables, writes

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ledger.core.ids import RunId
    from ledger.core.lockfile import Environment
    from ledger.core.records import OutputFile
    from ledger.core.verdict import Verdict
    from ledger.store.engine import Store

_RUNS = tables.Base.metadata.tables["runs"]


def add_seeds(store: Store, run_id: RunId, seeds: Mapping[str, object]) -> None:
    """Merge seeds into the run's recorded ones (a later value for a key wins)."""
    with store.writing_core() as conn:
        found = conn.execute(select(_RUNS.c.seeds).where(_RUNS.c.id == run_id)).first()
        if found is None:
            return
        merged = {**json.loads(found.seeds or "{}"), **seeds}
        conn.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(seeds=json.dumps(merged)))


def add_outputs(store: Store, run_id: RunId, outputs: Sequence[OutputFile]) -> None:
    """Record hashes of files the run wrote (a path recorded again is overwritten)."""
    rows = [
        {"run_id": run_id, "path": o.path, "algorithm": o.algorithm, "value": o.value, "size": o.size}
        for o in outputs
    ]
    with store.writing_core() as conn:
        store.upsert(
            conn, tables.OutputRow, rows, keys=("run_id", "path"), update=("algorithm", "value", "size")
        )


def set_environment(store: Store, run_id: RunId, env: Environment) -> None:
    """Say which environment a run really ran in (a reproduction in a rebuilt virtualenv)."""
    with store.writing_core() as conn:
        writes.save_environment(store, conn, env)
        conn.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(environment_digest=env.digest))


def save_reproduction(store: Store, run_id: RunId, original_id: RunId, verdict: Verdict | None) -> None:
    """Link a reproduction to the run it reproduced; `verdict` None means no verdict yet."""
    from ledger.core.verdict import MATCHED

    row = {
        "run_id": run_id,
        "original_id": original_id,
        "matched": None if verdict is None else verdict.outcome == MATCHED,
        "verdict": None if verdict is None else json.dumps(verdict.to_dict()),
        "created_at": time.time(),
    }
    with store.writing_core() as conn:
        store.upsert(
            conn,
            tables.ReproductionRow,
            [row],
            keys=("run_id",),
            update=("original_id", "matched", "verdict"),
        )
