"""Rebuild a damaged SQLite ledger from what lives outside the file.

A run leaves traces beside the database: its spool folder until a recorder writes it,
the hooks' inbox for commits not yet ingested, and git itself, where every run's code
is kept under `refs/ledger/runs/<id>` and every commit that carries results can be read
again. `ledger doctor --fix` moves the damaged file aside (never deletes it) and builds
a new ledger from those, keeping each run's ID, and says what they could not give back.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.errors import LedgerError
from ledger.core.ids import RunId, created_at
from ledger.core.urls import sqlite_file
from ledger.git import batch
from ledger.git.command import git_bytes
from ledger.git.refs import SNAPSHOT_REF_PREFIX
from ledger.store import writes as recorder

if TYPE_CHECKING:
    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace

SNAPSHOT_SUBJECT = "exp-ledger snapshot "
"""How a run's snapshot commit (`ledger.git.snapshot.make_snapshot`) begins its message."""

LOST_FROM_SNAPSHOT = (
    "rebuilt from its code snapshot after the ledger file was damaged: its params and data "
    "hashes are as the snapshot holds them; its command, metrics, log, environment and outputs were lost"
)


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """Where the damaged file went and how many runs each source gave back."""

    moved_to: Path
    from_spool_and_inbox: int
    commits_from_refs: int
    runs_from_snapshots: int
    commits_from_history: int
    failed: list[str]
    """Sources that failed, each with its reason."""


def move_aside(db_path: Path) -> Path:
    """Rename the damaged file (and its WAL and shared-memory files); returns its new path."""
    target = db_path.with_name(f"{db_path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{db_path}{suffix}")
        if src.exists():
            src.rename(f"{target}{suffix}")
    return target


def rebuild(ws: Workspace) -> tuple[Store, RebuildReport]:
    """Move the damaged ledger aside, open a new one and fill it; returns it open.

    Order matters: the spool and the inbox hold whole records, so they go first;
    refs then restore runs with their own IDs (which trailers and notes name);
    backfill adds the commits with results no ref kept.
    """
    from ledger.commits.backfill import backfill, result_commits
    from ledger.commits.ingest import ingest_pending
    from ledger.store.workspace import open_store

    db_path = sqlite_file(ws.url)
    if db_path is None:
        raise LedgerError(f"only a SQLite file ledger can be rebuilt, not {ws.url}")
    moved = move_aside(db_path)
    store = open_store(ws)
    ingest_pending(ws, store)
    from_spool = len(_run_ids(store))
    failed: list[str] = []
    commits = snapshots = backfilled = 0
    try:
        commits, snapshots = _restore_refs(ws, store)
    except LedgerError as e:
        failed.append(f"runs from their refs: {e}")
    try:
        if batch.verify_commit(ws.root, "HEAD") is not None:
            history = result_commits(ws.root, ws.config, tip="HEAD", since=None)
            branch = batch.current_branch(ws.root)
            backfilled = len(backfill(ws.root, store, ws.config, history, branch=branch).recorded)
    except LedgerError as e:
        failed.append(f"commits with results from history: {e}")
    return store, RebuildReport(moved, from_spool, commits, snapshots, backfilled, failed)


def describe(report: RebuildReport) -> list[str]:
    """What `ledger doctor --fix` prints about a rebuild."""
    return [
        f"moved the damaged ledger file to {report.moved_to} (kept: nothing was deleted)",
        f"rebuilt: {report.from_spool_and_inbox} runs from the spool and the hooks' inbox, "
        f"{report.commits_from_refs} commit runs from their refs, "
        f"{report.runs_from_snapshots} runs from their code snapshots, "
        f"{report.commits_from_history} more commits with results from history",
        "could not rebuild: tags, notes, archive marks and reproduction verdicts of every run; "
        "the command, metrics, log, environment and outputs of runs rebuilt from a snapshot "
        "(their capture problems say so); runs whose snapshot ref is gone",
        *(f"failed to rebuild {line}" for line in report.failed),
    ]


def _restore_refs(ws: Workspace, store: Store) -> tuple[int, int]:
    """Runs named by `refs/ledger/runs/<id>` and missing from the ledger, with their IDs.

    A ref names a commit's run when its ID was made for the commit's own time (as
    `ledger.commits.runs.run_id_at` makes them): that run is read again as backfill reads
    it. Any other ref is a `ledger run` or API run: at its snapshot commit, or at HEAD
    itself when the work tree was clean; its code, start, params files and data hashes
    come back.
    """
    from ledger.commits.runs import known_commits, read_commit_runs, record_commit_runs

    present = _run_ids(store)
    ended = _recent_ends(ws)
    runs_at: list[tuple[str, RunId, str | None, bool | None]] = []
    commits: dict[str, RunId] = {}
    for ref in _refs(ws.root):
        if ref.run_id in present:
            continue
        if ref.subject.startswith(SNAPSHOT_SUBJECT):
            runs_at.append((ref.sha, ref.run_id, ref.parent, None))
        elif ref.run_id in ended or round(created_at(ref.run_id) * 1000) != ref.committed_at * 1000:
            runs_at.append((ref.sha, ref.run_id, ref.sha, False))
        else:
            commits.setdefault(ref.sha, ref.run_id)
    known = known_commits(store, list(commits))
    wanted = [sha for sha in commits if sha not in known]
    runs = read_commit_runs(ws.root, wanted, config=ws.config, source="backfill")
    restored = [
        dataclasses.replace(r, run=dataclasses.replace(r.run, id=commits[r.run.commit or ""])) for r in runs
    ]
    recorded = record_commit_runs(store, restored)
    shas = list(dict.fromkeys(sha for sha, *_ in runs_at))
    read = dict(zip(shas, read_commit_runs(ws.root, shas, config=ws.config, source="run"), strict=True))
    for sha, run_id, commit, dirty in runs_at:
        recorder.create_run(
            store,
            dataclasses.replace(
                read[sha].run,
                id=run_id,
                commit=commit,
                started_at=created_at(run_id),
                status=ended.get(run_id, "crashed"),
                dirty=dirty,
                capture_errors=[LOST_FROM_SNAPSHOT, *read[sha].run.capture_errors],
            ),
        )
    return len(recorded), len(runs_at)


@dataclass(frozen=True, slots=True)
class _Ref:
    run_id: RunId
    sha: str
    parent: str | None
    committed_at: int
    subject: str


def _refs(root: Path) -> list[_Ref]:
    """Every run ref, with what its commit says about itself."""
    out = git_bytes(
        "for-each-ref",
        "--format=%(objectname)%00%(refname)%00%(parent)%00%(committerdate:raw)%00%(contents:subject)",
        SNAPSHOT_REF_PREFIX,
        cwd=root,
        scrub=True,
    ).decode("utf-8", "replace")
    found = []
    for line in out.splitlines():
        sha, ref, parents, date, subject = line.split("\0", 4)
        found.append(
            _Ref(
                run_id=RunId(ref.removeprefix(SNAPSHOT_REF_PREFIX)),
                sha=sha,
                parent=parents.split(" ")[0] or None,
                committed_at=int(date.split(" ")[0] or 0),
                subject=subject,
            )
        )
    return found


def _recent_ends(ws: Workspace) -> dict[str, str]:
    """How runs of the last days ended, as the hooks remember them (`inbox.remember_run`);
    an older run's end is unknown, and it is `crashed`, as a run that ended without saying how."""
    from ledger.commits import inbox

    return {str(e["id"]): str(e["status"]) for e in inbox.recent_runs(ws.common_dir) if e.get("status")}


def _run_ids(store: Store) -> set[str]:
    from sqlalchemy import select

    from ledger.store import tables

    with store.reading() as session:
        return set(session.scalars(select(tables.RunRow.id)))
