"""Turn the hooks' inbox into ledger rows: link runs to commits, capture result commits,
and follow amends and rebases.

Started detached by the post-commit and post-rewrite hooks, and run by every `ledger`
command that finds events waiting, so a commit is in the ledger even when the
background process never got to run (a laptop closed right after the commit).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from ledger.commits import inbox
from ledger.commits.code_match import RunCode, held
from ledger.core.errors import LedgerError, StoreError
from ledger.core.fileops import exclusive
from ledger.core.ids import RunId
from ledger.delivery.settle import settle
from ledger.git.command import git
from ledger.store import tables

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Result

    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace

LINK_WINDOW = 30 * 24 * 3600
"""Runs older than this are not linked to new commits (their code moved on)."""
LINK_CANDIDATES = 200
REWRITE_LIMIT = 5000
"""Commits examined on each side of a rewrite; a rebase of more is capped here."""


@dataclass(slots=True)
class IngestReport:
    """What one pass over the inbox did."""

    linked: list[tuple[RunId, str]] = field(default_factory=list)
    captured: list[RunId] = field(default_factory=list)
    moved: int = 0
    failed: list[str] = field(default_factory=list)
    waiting: bool = False
    """An event stays in the inbox because the ledger would not take it now (read-only,
    locked, a role without write rights): trying again at once would fail the same way."""


def has_pending(ws: Workspace) -> bool:
    """A cheap check (one directory listing) for commands that ingest before they read."""
    return ws.repo is not None and inbox.has_events(ws.repo.common_dir)


def ingest_pending(ws: Workspace, store: Store, *, wait: float = 0.0) -> IngestReport:
    """Process every waiting event, oldest first; a failing event is set aside, not retried forever.

    Only one process ingests at a time; `wait` is how long to wait for another one
    (a command about to read the ledger waits, so it sees the commit just made).
    """
    report = IngestReport()
    if ws.repo is None:
        return report
    common = ws.repo.common_dir
    folder = inbox.ledger_dir(common)
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive(folder / "ingest.lock", wait=wait) as got:
        if not got:
            return report  # another process is ingesting right now
        # A run that just ended may still be on its way in: a commit must find it.
        settle(store, ws.spool_dir)
        for path, event in inbox.pending(common):
            try:
                _handle(ws, store, event, report, posted=inbox.posted_at(path))
            except StoreError as e:
                # The ledger itself is unwritable (read-only, locked, corrupt): keep the
                # event for the next attempt rather than setting it aside.
                message = f"cannot ingest {path.name} yet: {e}"
                report.failed.append(message)
                report.waiting = True
                inbox.record_failure(common, "ingest", message)
                break
            except (LedgerError, OSError, KeyError, ValueError) as e:
                message = f"cannot ingest {path.name}: {e}"
                report.failed.append(message)
                inbox.record_failure(common, "ingest", message)
                failed = path.parent / "failed"
                failed.mkdir(exist_ok=True)
                path.rename(failed / path.name)
                continue
            path.unlink(missing_ok=True)
    return report


def link_runs(
    ws: Workspace, store: Store, sha: str, *, committed: float | None = None, record: bool = True
) -> list[RunId]:
    """Link every recent unlinked run whose code is the commit's, apart from its own outputs.

    Only runs started before the commit (`committed`: when its hook posted it) can be
    in it: a run started on the same code while the event waited has its results
    nowhere in that commit. Without `record`, says which runs it would link.
    """
    candidates = _unlinked_runs(store, until=time.time() if committed is None else committed)
    found = held(ws.root, [(code, sha) for _, _, code in candidates])
    matched = [run for (run, _, _), hold in zip(candidates, found, strict=True) if hold]
    if record:
        _link(ws, store, [(run, sha) for run in matched])
    return matched


def link_missed(ws: Workspace, store: Store, *, record: bool = True) -> list[tuple[RunId, str]]:
    """Link runs to the commits that hold their code but that no hook saw.

    A commit made with the hooks off (`LEDGER_HOOKS=0`, `--no-verify`, before
    `ledger init`, by a tool) links nothing; the recent history of HEAD, oldest first,
    gives each unlinked run the first commit that holds it (a commit's time counts in
    whole seconds). Commits the ledger knows (captured, or linked already) are left as
    they are. Every pair of commit and run is compared in one git batch.
    """
    candidates = _unlinked_runs(store, until=time.time())
    if not candidates:
        return []  # the common case: no git call
    out = git(
        "log",
        "--reverse",
        f"--max-count={LINK_CANDIDATES}",
        f"--since={int(time.time() - LINK_WINDOW)}",
        "--format=%H %ct",
        "HEAD",
        cwd=ws.root,
        check=False,
    )
    commits = [
        (sha, float(stamp) + 1)
        for sha, _, stamp in (line.partition(" ") for line in out.splitlines())
        if stamp
    ]
    known = _known_commits(store, [sha for sha, _ in commits])
    pairs = [
        (run, sha, code)
        for sha, at in commits
        if sha not in known
        for run, started, code in candidates
        if started <= at
    ]
    first: dict[RunId, str] = {}
    for (run, sha, _), hold in zip(
        pairs, held(ws.root, [(code, sha) for _, sha, code in pairs]), strict=True
    ):
        if hold:
            first.setdefault(run, sha)
    found = list(first.items())
    if record:
        _link(ws, store, found)
    return found


def _unlinked_runs(store: Store, *, until: float) -> list[tuple[RunId, float, RunCode]]:
    """Recent runs no commit holds yet, started by `until`, newest first: their start and
    their code as `ledger.commits.code_match` sees it (snapshot, and the files they wrote)."""
    linked = select(tables.CommitLinkRow.run_id)
    with store.reading() as session:
        rows = session.execute(
            select(tables.RunRow.id, tables.RunRow.started_at, tables.RunRow.snapshot)
            .where(
                tables.RunRow.source.in_(("run", "api")),
                tables.RunRow.snapshot.is_not(None),
                tables.RunRow.started_at >= time.time() - LINK_WINDOW,
                tables.RunRow.started_at <= until,
                tables.RunRow.id.not_in(linked),
            )
            .order_by(tables.RunRow.started_at.desc())
            .limit(LINK_CANDIDATES)
        ).all()
        ids = [r for r, _, _ in rows]
        written: dict[str, set[str]] = {}
        if ids:
            for run_id, path in session.execute(
                select(tables.OutputRow.run_id, tables.OutputRow.path).where(tables.OutputRow.run_id.in_(ids))
            ):
                written.setdefault(run_id, set()).add(path)
            for run_id, source in session.execute(
                select(tables.MetricRow.run_id, tables.MetricRow.source).where(
                    tables.MetricRow.run_id.in_(ids)
                )
            ):
                written.setdefault(run_id, set()).add(source)
    return [
        (RunId(r), float(started), RunCode(code=str(snapshot), written=written.get(r, ())))
        for r, started, snapshot in rows
    ]


def _link(ws: Workspace, store: Store, links: Sequence[tuple[RunId, str]]) -> None:
    """Record (run, commit) links; the hooks' run index forgets the linked runs."""
    if not links:
        return
    now = time.time()
    with store.writing_core() as conn:
        store.upsert(
            conn,
            tables.CommitLinkRow,
            [{"run_id": r, "commit": sha, "linked_at": now} for r, sha in links],
            keys=("run_id", "commit"),
        )
    if ws.repo is not None:
        inbox.forget_runs(ws.repo.common_dir, {r for r, _ in links})


def follow_rewrite(ws: Workspace, store: Store, old_tip: str, new_tip: str) -> int:
    """Move links and commit-captured runs from rewritten commits to their replacements.

    Amend and rebase keep a commit's author identity and date, so old and new commits
    pair up on them; squashed commits all map to the commit they became.
    """
    root = ws.root
    old = _authored(root, old_tip, new_tip)
    new = _authored(root, new_tip, old_tip)
    by_author = {key: sha for sha, key in reversed(new)}
    mapping = {sha: by_author[key] for sha, key in old if key in by_author}
    moved = 0
    with store.writing_core() as conn:
        for before, after in mapping.items():
            already = set(
                conn.scalars(select(tables.CommitLinkRow.run_id).where(tables.CommitLinkRow.commit == after))
            )
            conn.execute(
                delete(tables.CommitLinkRow).where(
                    tables.CommitLinkRow.commit == before, tables.CommitLinkRow.run_id.in_(already)
                )
            )
            moved += _count(
                conn.execute(
                    update(tables.CommitLinkRow)
                    .where(tables.CommitLinkRow.commit == before)
                    .values(commit=after)
                )
            )
            captured = tables.RunRow.source.in_(("commit", "backfill"))
            if conn.scalar(
                select(tables.CommitLinkRow.run_id).where(tables.CommitLinkRow.commit == after).limit(1)
            ):
                # git runs post-commit for each rewritten commit too; a commit that holds
                # a linked run is not a run of its own.
                conn.execute(delete(tables.RunRow).where(captured, tables.RunRow.commit.in_((before, after))))
            elif conn.scalar(
                select(tables.RunRow.id).where(captured, tables.RunRow.commit == after).limit(1)
            ):
                # The rewritten commit was captured already (post-commit ran first): the
                # capture of the commit it replaced is superseded.
                conn.execute(delete(tables.RunRow).where(captured, tables.RunRow.commit == before))
            else:
                moved += _count(
                    conn.execute(
                        update(tables.RunRow)
                        .where(captured, tables.RunRow.commit == before)
                        .values(commit=after, snapshot=after)
                    )
                )
    return moved


def main(argv: Sequence[str] | None = None) -> int:
    """Detached entry (`python -m ledger.commits.ingest TOPLEVEL`): ingest, record any failure."""
    from ledger.store.workspace import locate, open_store

    args = list(sys.argv[1:] if argv is None else argv)
    where = Path(args[0]) if args else Path.cwd()
    common = None
    try:
        ws = locate(where, need_repo=True)
        common = None if ws.repo is None else ws.repo.common_dir
        store = open_store(ws)
        try:
            while has_pending(ws):
                report = ingest_pending(ws, store)
                if report.waiting or not (report.linked or report.captured or report.moved or report.failed):
                    break
        finally:
            store.close()
    except Exception as e:  # noqa: BLE001 - detached: nobody sees a traceback; doctor shows this
        inbox.record_failure(common, "ingest", " ".join(f"{type(e).__name__}: {e}".split()))
        return 1
    return 0


def _handle(
    ws: Workspace, store: Store, event: dict[str, Any], report: IngestReport, *, posted: float | None
) -> None:
    kind = event.get("kind")
    if kind == "commit":
        sha = str(event["sha"])
        if _captured(store, sha):
            return
        matched = link_runs(ws, store, sha, committed=posted)
        report.linked += [(r, sha) for r in matched]
        if not matched:
            report.captured += _capture(ws, store, event)
    elif kind == "rewrite":
        report.moved += follow_rewrite(ws, store, str(event["old_tip"]), str(event["new_tip"]))
    else:
        raise ValueError(f"unknown event kind {kind!r}")


def _capture(ws: Workspace, store: Store, event: dict[str, Any]) -> list[RunId]:
    from ledger.commits.runs import (
        carries_results,
        declared_results,
        keep_reachable,
        read_commit_runs,
        record_commit_runs,
    )

    files = event.get("files") or []
    # `dvc.yaml` is read only when the configured files alone do not decide it.
    if not carries_results(files, ws.config) and not carries_results(
        files, ws.config, declared_results(ws.root)
    ):
        return []
    branch = event.get("branch")
    runs = read_commit_runs(
        ws.root,
        [str(event["sha"])],
        config=ws.config,
        source="commit",
        branch=None if branch is None else str(branch),
    )
    recorded = record_commit_runs(store, runs)
    keep_reachable(ws.root, runs, recorded)
    return recorded


def _captured(store: Store, sha: str) -> bool:
    return bool(_known_commits(store, [sha]))


def _known_commits(store: Store, shas: Sequence[str]) -> set[str]:
    """The commits among `shas` the ledger knows: captured as runs, or linked to one."""
    if not shas:
        return set()
    with store.reading() as session:
        captured = session.scalars(
            select(tables.RunRow.commit).where(
                tables.RunRow.commit.in_(shas), tables.RunRow.source.in_(("commit", "backfill"))
            )
        )
        linked = session.scalars(
            select(tables.CommitLinkRow.commit).where(tables.CommitLinkRow.commit.in_(shas))
        )
        return {str(c) for c in (*captured, *linked)}


def _count(result: Result[Any]) -> int:
    """Rows an UPDATE changed (only DML results carry a row count)."""
    return int(getattr(result, "rowcount", 0) or 0)


def _authored(root: Path, tip: str, exclude: str) -> list[tuple[str, tuple[str, str]]]:
    out = git(
        "rev-list", f"--max-count={REWRITE_LIMIT}", "--format=%H %aI %ae", tip, "--not", exclude, cwd=root
    )
    found = []
    for line in out.splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and not line.startswith("commit "):
            found.append((parts[0], (parts[1], parts[2])))
    return found


if __name__ == "__main__":
    raise SystemExit(main())
