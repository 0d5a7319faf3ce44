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
    from collections.abc import Sequence
    from pathlib import Path

    from ledger.core.ids import RunId
    from ledger.store.engine import Store


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
    with store.writing() as session:
        result = session.execute(
            update(tables.Run)
            .where(tables.Run.id.in_(list(run_ids)), tables.Run.archived.is_not(archived))
            .values(archived=archived)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def delete_runs(store: Store, run_ids: Sequence[RunId], *, root: Path | None = None) -> DeleteReport:
    """Delete runs with everything recorded about them.

    Child rows (params, metrics, series, logs, links, reproductions) go with the run
    through the foreign keys' ON DELETE CASCADE; an environment no run uses any more
    is dropped too. With `root`, the runs' snapshot refs are deleted from that
    repository so git can collect the snapshots.
    """
    if not run_ids:
        return DeleteReport(runs=0, refs=0)
    ids = list(dict.fromkeys(run_ids))
    with store.writing() as session:
        digests = set(
            session.scalars(
                select(tables.Run.environment_digest).where(
                    tables.Run.id.in_(ids), tables.Run.environment_digest.is_not(None)
                )
            )
        )
        result = session.execute(delete(tables.Run).where(tables.Run.id.in_(ids)))
        removed = int(getattr(result, "rowcount", 0) or 0)
        if digests:
            used = exists().where(tables.Run.environment_digest == tables.Environment.digest)
            session.execute(delete(tables.Environment).where(tables.Environment.digest.in_(digests), ~used))
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
