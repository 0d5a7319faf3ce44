"""Archive runs (hidden from listings, kept whole) or delete them for good."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, select, update

from ledger.core.errors import GitError
from ledger.git.command import git
from ledger.git.refs import snapshot_ref
from ledger.store import tables

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    from ledger.core.ids import RunId
    from ledger.store.engine import Store

BATCH = 250
"""Run IDs per DELETE statement."""

_RUNS = tables.Base.metadata.tables["runs"]


@dataclass(frozen=True, slots=True)
class DeleteReport:
    """What `delete_runs` removed, and what it could not."""

    runs: int
    refs: int
    problem: str | None = None
    """Why snapshot refs were left behind (the runs are gone either way)."""


def set_archived(store: Store, run_ids: Sequence[RunId], *, archived: bool = True) -> int:
    """Archive (or restore) runs; returns how many changed."""
    if not run_ids:
        return 0
    with store.writing_core() as conn:
        result = conn.execute(
            update(_RUNS)
            .where(_RUNS.c.id.in_(list(run_ids)), _RUNS.c.archived.is_not(archived))
            .values(archived=archived)
        )
        return int(result.rowcount or 0)


def delete_runs(store: Store, run_ids: Iterable[str], *, root: Path | None = None) -> DeleteReport:
    """Delete runs with everything recorded about them (`ledger rm`, the UI, a delivered outbox).

    Child rows (params, metrics, series, logs, links, reproductions either way) go with
    the run through the foreign keys' ON DELETE CASCADE; an environment no run uses any
    more is dropped too. With `root`, the runs' snapshot refs are deleted from that
    repository so git can collect the snapshots. IDs go in batches, one transaction
    for all: a long list stays under the database's limit on bound parameters.
    """
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return DeleteReport(runs=0, refs=0)
    removed = 0
    envs = tables.Base.metadata.tables["environments"]
    with store.writing_core() as conn:
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            digests = set(
                conn.scalars(
                    select(_RUNS.c.environment_digest).where(
                        _RUNS.c.id.in_(batch), _RUNS.c.environment_digest.is_not(None)
                    )
                )
            )
            removed += int(conn.execute(delete(_RUNS).where(_RUNS.c.id.in_(batch))).rowcount or 0)
            if digests:
                used = exists().where(_RUNS.c.environment_digest == envs.c.digest)
                conn.execute(delete(envs).where(envs.c.digest.in_(digests), ~used))
    if root is None:
        return DeleteReport(runs=removed, refs=0)
    return _delete_refs(root, ids, removed)


def _delete_refs(root: Path, ids: Sequence[str], removed: int) -> DeleteReport:
    refs = [snapshot_ref(run_id) for run_id in ids]
    try:
        present = set(git("for-each-ref", "--format=%(refname)", *refs, cwd=root).split())
        doomed = [ref for ref in refs if ref in present]
        if doomed:
            git("update-ref", "--stdin", cwd=root, stdin="".join(f"delete {ref}\n" for ref in doomed))
    except GitError as e:
        return DeleteReport(runs=removed, refs=0, problem=f"snapshot refs kept: {e}")
    return DeleteReport(runs=removed, refs=len(doomed))
