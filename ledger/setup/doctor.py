"""`ledger doctor`: what went wrong behind the user's back, and how to recover.

Hooks fail open: a commit never breaks because of the ledger, but whatever a hook
could not do is written down, and this command shows it and repairs it
(`--fix`: ingest waiting events, retry the failed ones, link runs to the commits that
hold their code but that no hook saw, backfill missed commits). History is compared
with the ledger itself, so a commit is found missing whatever the reason, even when
not even the hook's failure could be written down.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from ledger.core.ids import RunId
    from ledger.git.batch import LoggedCommit
    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `doctor` command."""
    p = sub.add_parser("doctor", help="show hook failures and missed commits; --fix recovers")
    p.add_argument("--fix", action="store_true", help="ingest waiting events and backfill missed commits")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Report (and with --fix, repair); exit 1 while anything needs attention."""
    from ledger.commits import inbox
    from ledger.commits.ingest import ingest_pending, link_missed
    from ledger.core.errors import StoreCorruptError
    from ledger.delivery import quarantine
    from ledger.setup import rebuild
    from ledger.store.workspace import locate, open_store

    ws = locate(need_repo=True)
    common = ws.common_dir
    problems = 0
    print(f"ledger: {ws.url}")
    try:
        store = open_store(ws)
    except StoreCorruptError as e:
        print(e.message)
        if not args.fix:
            print(
                "(--fix keeps the damaged file, and rebuilds from the spool, the hooks' inbox and git history)"
            )
            return 1
        store, rebuilt = rebuild.rebuild(ws)
        print("\n".join(rebuild.describe(rebuilt)))
    try:
        if args.fix:
            _record_spooled_runs(ws, store)
            _retry_failed(common)
            report = ingest_pending(ws, store)
            print(
                f"ingested: {len(report.linked)} links, {len(report.captured)} commits captured, "
                f"{report.moved} moved after rewrites, {len(report.failed)} failed"
            )
            relinked = link_missed(ws, store)
            if relinked:
                print(f"linked: {_runs(relinked)} to commits no hook saw")
            missed = _missed_commits(ws, store, waiting=[])
            if missed:
                from ledger.commits.backfill import backfill
                from ledger.git.batch import current_branch

                result = backfill(ws.root, store, ws.config, missed, branch=current_branch(ws.root))
                print(f"backfill: {len(result.recorded)} missed commits with results recorded")
            inbox.clear_failures(common)
        waiting = inbox.pending(common)
        unlinked = [] if waiting else link_missed(ws, store, record=False)
        if unlinked:
            problems += 1
            print(f"{_runs(unlinked)}: not linked to the commit that holds its code (ledger doctor --fix)")
        missing = _missed_commits(ws, store, waiting=[event for _, event in waiting])
        if missing:
            problems += 1
            newest = missing[-1]
            print(
                f"{len(missing)} commits with results are not in the ledger (newest {newest.sha[:10]}: "
                f"{', '.join(newest.paths)}); ledger doctor --fix records them"
            )
        failed_events = inbox.events_in(inbox.ledger_dir(common) / inbox.INBOX / "failed")
        if waiting:
            problems += 1
            print(f"{len(waiting)} hook events waiting to be ingested (ledger doctor --fix)")
        if failed_events:
            problems += 1
            print(
                f"{len(failed_events)} hook events could not be ingested (ledger doctor --fix retries them)"
            )
        failures = inbox.failures(common)
        if failures:
            problems += 1
            print(f"{len(failures)} hook failures recorded; the newest:")
            for item in failures[-10:]:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(item.get("time", 0))))
                print(f"  {when}  {item.get('hook')}: {item.get('message')}")
            print("recover the commits they missed: ledger doctor --fix (runs ledger backfill)")
        aside = quarantine.set_aside_records(ws.spool_dir)
        if aside:
            problems += 1
            print(
                f"{len(aside)} run record(s) could not be written and were set aside; every other run is listed:"
            )
            for path, reason in aside[-10:]:
                print(f"  {path}: {reason}")
            print("look into them, then delete the folders")
    finally:
        store.close()
    if not problems:
        print("no problems found")
    else:
        print(f"{problems} problem(s) found", file=sys.stderr)
    return 1 if problems else 0


def _missed_commits(ws: Workspace, store: Store, *, waiting: list[dict[str, Any]]) -> list[LoggedCommit]:
    """History's commits with results that the ledger does not hold, oldest first.

    Whatever the reason (a hook that could not write, `LEDGER_HOOKS=0`, `--no-verify`,
    commits from before `ledger init`), history is the truth, as for `ledger backfill`.
    Commits still waiting in the inbox are on their way and not counted.
    """
    from ledger.commits.backfill import not_recorded, result_commits
    from ledger.git.batch import verify_commit

    if verify_commit(ws.root, "HEAD") is None:
        return []
    on_the_way = {str(e.get("sha")) for e in waiting if e.get("kind") == "commit"}
    commits = result_commits(ws.root, ws.config, tip="HEAD", since=None)
    return [c for c in not_recorded(store, commits) if c.sha not in on_the_way]


def _record_spooled_runs(ws: Workspace, store: Store) -> None:
    """Record the runs that wait in the spool (their ledger was in trouble, or their process died)."""
    from ledger.delivery import handover
    from ledger.delivery.liveness import reap_dead_runs

    waiting = len(handover.handed_over(ws.spool_dir))
    reap_dead_runs(store, ws.spool_dir)
    if waiting:
        left = len(handover.handed_over(ws.spool_dir))
        print(f"spool: {waiting - left} run(s) recorded, {left} still running")


def _runs(links: list[tuple[RunId, str]]) -> str:
    return ", ".join(f"run {run[:12]} -> {sha[:10]}" for run, sha in links)


def _retry_failed(common: Path) -> None:
    from ledger.commits import inbox

    folder = inbox.ledger_dir(common) / inbox.INBOX
    for path in inbox.events_in(folder / "failed"):
        path.rename(folder / path.name)
