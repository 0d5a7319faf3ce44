"""Additions to runs that already exist: seeds, output hashes, environments, reproduction links."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from sqlalchemy import update

from ledger.store import tables, writes

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ledger.core.ids import RunId
    from ledger.core.lockfile import Environment
    from ledger.core.records import OutputFile
    from ledger.core.verdict import Verdict
    from ledger.store.engine import Store


def for_current_run(job: Callable[[Store, RunId], None]) -> None:
    """Write `job` into the run this process logs into, in its background writer.

    Started as the API starts one; like every API call it never waits on the ledger
    nor raises because of it (`ledger.delivery.flusher`).
    """
    from ledger import api

    run = api.current_run()
    if run is None:
        api.log_params({})  # starts the script's own run, as its first logging call would
        run = api.current_run()
    if run is None:  # pragma: no cover - log_params always leaves a run active
        raise RuntimeError("no ledger run is active")
    run_id = run.id
    run.defer(lambda store: job(store, run_id))


def add_seeds(store: Store, run_id: RunId, seeds: Mapping[str, object]) -> None:
    """Merge seeds into the run's recorded ones (a later value for a key wins)."""
    with store.writing() as session:
        run = session.get(tables.Run, run_id)
        if run is None:
            return
        merged = {**json.loads(run.seeds or "{}"), **seeds}
        run.seeds = json.dumps(merged)


def add_outputs(store: Store, run_id: RunId, outputs: Sequence[OutputFile]) -> None:
    """Record hashes of files the run wrote (a path recorded again is overwritten)."""
    rows = [
        {"run_id": run_id, "path": o.path, "algorithm": o.algorithm, "value": o.value, "size": o.size}
        for o in outputs
    ]
    with store.writing() as session:
        store.upsert(
            session, tables.Output, rows, keys=("run_id", "path"), update=("algorithm", "value", "size")
        )


def set_environment(store: Store, run_id: RunId, env: Environment) -> None:
    """Say which environment a run really ran in (a reproduction in a rebuilt virtualenv)."""
    with store.writing() as session:
        writes.save_environment(store, session, env)
        session.execute(
            update(tables.Run).where(tables.Run.id == run_id).values(environment_digest=env.digest)
        )


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
    with store.writing() as session:
        store.upsert(
            session,
            tables.Reproduction,
            [row],
            keys=("run_id",),
            update=("original_id", "matched", "verdict"),
        )
