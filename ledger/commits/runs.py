"""Commits that carry results, read as runs from git objects alone (never the work tree).

A commit carries results when it adds or modifies a params file, a metrics file or
a DVC file. Its run holds what the commit holds: params, final metrics and DVC data
hashes as of that commit, with the commit as its code snapshot. The post-commit hook
records one (source `commit`), `ledger backfill` records history (source `backfill`).

Reading is done in bulk: one `git diff-tree` and one `git cat-file` process per call;
`ledger.commits.blobs` parses what the trees hold.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.commits.blobs import TreeReader
from ledger.core.errors import GitError
from ledger.core.ids import RunId
from ledger.git import batch
from ledger.git.refs import snapshot_ref
from ledger.store import writes as recorder

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from ledger.core.config import Config
    from ledger.core.records import Metric, NewRun
    from ledger.store.engine import Store

DVC_DECLARATIONS = ("dvc.yaml", "**/dvc.yaml")
"""Read to find the params and metrics files stages declare, and stage `wdir`s; a
change to them alone does not carry results."""

RECORDED_SOURCES = ("commit", "backfill")
"""Sources of runs that record a commit's own results."""

_IN_CHUNK = 500
"""IDs per `IN (...)` list: far below every database's bound-parameter limit."""


@dataclass(frozen=True, slots=True)
class CommitRun:
    """A commit's run and the final metrics its metrics files held."""

    run: NewRun
    metrics: list[Metric]


def result_pathspecs(config: Config, declared: Iterable[str] = ()) -> list[str]:
    """Git pathspecs of every file whose change carries results (`declared`: see
    `declared_results`)."""
    literal = dict.fromkeys((*config.params_files, *config.metrics_files, *declared))
    return [f":(literal){name}" for name in literal] + [f":(glob){p}" for p in config.result_patterns]


def carries_results(paths: Iterable[str], config: Config, declared: Iterable[str] = ()) -> bool:
    """Whether any of `paths` (added or modified by a commit) is a result file."""
    literal = {*config.params_files, *config.metrics_files, *declared}
    pattern = batch.glob_regex(config.result_patterns)
    return any(path in literal or pattern.fullmatch(path) for path in paths)


def declared_results(root: Path) -> tuple[str, ...]:
    """The params and metrics files the work tree's `dvc.yaml` files declare.

    DVCLive declares its own folder's files there (`results/train/metrics.json`): a
    commit of those alone carries results as much as one of `metrics.json` does.
    """
    from ledger.dvc import files as dvc_files
    from ledger.git.command import git

    listed = git("ls-files", "-z", "--", *(f":(glob){p}" for p in DVC_DECLARATIONS), cwd=root, check=False)
    declared = dvc_files.declared_files(root, [p for p in listed.split("\0") if p])
    return (*declared.params, *declared.metrics)


def read_commit_runs(
    root: Path, shas: Sequence[str], *, config: Config, source: str, branch: str | None = None
) -> list[CommitRun]:
    """Build one run per commit in `shas`, in order, from the objects of each commit.

    Problems with a commit's files become capture errors of its run, never a missing
    run; an ID that names no commit is an error.

    Raises:
        GitError: a SHA is not a commit, or git failed.
    """
    from ledger.core.records import NewRun
    from ledger.dvc.cache import find_cache

    if not shas:
        return []
    listing = [*result_pathspecs(config), *(f":(glob){p}" for p in DVC_DECLARATIONS)]
    scratch = tempfile.TemporaryDirectory(prefix="ledger-commits-", dir=_memory_folder())
    with batch.CatFile(root) as cat, scratch as tmp:
        heads = []
        for name, obj in zip(shas, cat.read(shas), strict=True):
            if obj is None or obj.type != "commit":
                raise GitError(f"not a commit: {name}")
            heads.append((obj.oid, batch.parse_commit(obj.data)))
        trees = batch.list_trees(root, list(dict.fromkeys(h.tree for _, h in heads)), listing)
        reader = TreeReader(cat, Path(tmp), config, find_cache(root))
        reader.fetch(f.oid for files in trees.values() for f in files)
        reader.fetch_declared({h.tree: trees[h.tree] for _, h in heads})
        runs = []
        for sha, head in heads:
            params, metrics, data, errors = reader.results(head.tree, trees[head.tree])
            run = NewRun(
                id=run_id_at(head.committed_at),
                source=source,
                started_at=float(head.committed_at),
                repo=str(root),
                commit=sha,
                branch=branch,
                snapshot=sha,
                dirty=False,
                capture_errors=errors,
                params=params,
                data=data,
                status="finished",
            )
            runs.append(CommitRun(run, metrics))
    return runs


def known_commits(store: Store, shas: Sequence[str]) -> set[str]:
    """The commits among `shas` whose results the ledger already holds."""
    with store.reading() as session:
        return _known(session, shas)


def record_commit_runs(store: Store, runs: Sequence[CommitRun]) -> list[RunId]:
    """Insert the runs of commits not recorded yet, in one transaction; their IDs.

    A commit is recorded when a `commit` or `backfill` run has it, or when a run was
    linked to it (that run holds its results). The check and the inserts share the
    write transaction, so a hook and a backfill running at once record it once.
    """
    from sqlalchemy import insert

    from ledger.store import tables
    from ledger.store.writes import save_environment

    if not runs:
        return []
    with store.writing_core() as conn:
        seen = _known(conn, [r.run.commit for r in runs if r.run.commit])
        fresh = []
        for item in runs:
            if item.run.commit is not None:
                if item.run.commit in seen:
                    continue
                seen.add(item.run.commit)
            fresh.append(item)
        if not fresh:
            return []
        for item in fresh:
            if item.run.environment is not None:
                save_environment(store, conn, item.run.environment)
        # Written as a run is recorded: open, its record, then its end (`recorder.seal`).
        conn.execute(
            insert(tables.RunRow), [{**recorder.run_row(item.run), "status": "running"} for item in fresh]
        )
        for model, rows in (
            (tables.TagRow, [r for item in fresh for r in _tag_rows(item.run)]),
            (
                tables.ParamRow,
                [r for item in fresh for r in recorder.param_rows(item.run.id, item.run.params)],
            ),
            (
                tables.MetricRow,
                [r for item in fresh for r in recorder.metric_rows(item.run.id, item.metrics)],
            ),
            (
                tables.DataRefRow,
                [r for item in fresh for r in recorder.data_rows(item.run.id, item.run.data)],
            ),
        ):
            if rows:
                conn.execute(insert(model), rows)
        recorder.seal(conn, {item.run.id: {"status": item.run.status} for item in fresh})
    return [item.run.id for item in fresh]


def keep_reachable(root: Path, runs: Sequence[CommitRun], recorded: Sequence[RunId]) -> None:
    """Point `refs/ledger/runs/<id>` at each recorded run's commit, in one git transaction.

    A commit on a branch is reachable today; the ref keeps it so after a rebase or a
    deleted branch, as every run's snapshot is kept (`ledger.git.snapshot.make_snapshot`).

    Raises:
        GitError: git refused the refs (the runs stay recorded).
    """
    wanted = set(recorded)
    batch.create_refs(
        root,
        [
            (snapshot_ref(item.run.id), item.run.snapshot)
            for item in runs
            if item.run.id in wanted and item.run.snapshot is not None
        ],
    )


_id_lock = threading.Lock()
_id_counters: dict[int, int] = {}


def run_id_at(seconds: float) -> RunId:
    """A UUIDv7 (as `ledger.core.ids.new_run_id` makes) for a moment in the past.

    A commit's run sorts by the commit's time, not by when it was recorded. Commits in
    the same millisecond (scripted histories) take rising counter values in the order
    asked for, so IDs keep history's order; 62 random bits keep them unique.
    """
    ms = min(max(int(seconds * 1000), 0), (1 << 48) - 1)
    with _id_lock:
        counter = _id_counters.get(ms, -1) + 1
        while counter > 0xFFF:  # this millisecond is full: borrow the next one
            ms += 1
            counter = _id_counters.get(ms, -1) + 1
        _id_counters[ms] = counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return RunId(f"{value:032x}")


def _memory_folder() -> str | None:
    """Linux's tmpfs for the DVC mirror, else the default temp folder.

    The mirror rewrites a `dvc.lock` per commit; on a busy disk a write costs a
    millisecond or more, in memory a few microseconds.
    """
    shm = Path("/dev/shm")  # noqa: S108 - a private TemporaryDirectory inside it
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _known(session: Session | Connection, shas: Sequence[str | None]) -> set[str]:
    from sqlalchemy import select, union

    from ledger.store import tables

    wanted = sorted({s for s in shas if s})
    found: set[str] = set()
    for i in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[i : i + _IN_CHUNK]
        recorded = select(tables.RunRow.commit).where(
            tables.RunRow.commit.in_(chunk), tables.RunRow.source.in_(RECORDED_SOURCES)
        )
        linked = select(tables.CommitLinkRow.commit).where(tables.CommitLinkRow.commit.in_(chunk))
        found.update(sha for sha in session.scalars(union(recorded, linked)) if sha is not None)
    return found


def _tag_rows(run: NewRun) -> list[dict[str, object]]:
    return [{"run_id": run.id, "tag": t} for t in dict.fromkeys(run.tags)]
