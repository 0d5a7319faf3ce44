"""`ledger backfill`: walk existing history and record every commit that carries results.

Every commit reachable from the branch is walked (side branches merged into it
included), oldest first; merge commits are not, since the commits they merge carry
their results. Each batch is read and recorded in its own transaction, so an
interrupted backfill keeps what it recorded and a second one adds only the rest.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ledger.core.config import Config
    from ledger.core.ids import RunId
    from ledger.git.batch import LoggedCommit
    from ledger.store.engine import Store

BATCH_SIZE = 200
"""Commits read and recorded per transaction."""


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """What a backfill found and did."""

    with_results: int
    recorded: list[RunId]
    already: int
    """Commits the ledger held before (or that another writer recorded meanwhile)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `backfill` subcommand to the `ledger` parser."""
    p = sub.add_parser(
        "backfill",
        help="record every past commit that carries results",
        description="Walk history and record each commit that changed params, metrics or DVC "
        "files as a run (source `backfill`). Safe to repeat: recorded commits are skipped.",
    )
    p.add_argument("--since", metavar="REV", help="only commits after REV (REV itself excluded)")
    p.add_argument("--branch", metavar="B", help="walk B (default: the current branch, or HEAD)")
    p.add_argument("--dry-run", action="store_true", help="list the commits that would be recorded")
    p.set_defaults(func=cmd_backfill)


def cmd_backfill(args: argparse.Namespace) -> int:
    """Record history's result commits; with `--dry-run`, only list them."""
    from ledger.git.batch import is_shallow
    from ledger.store.workspace import locate, open_store

    ws = locate(need_repo=True)
    tip, label = _resolve_branch(ws.root, args.branch)
    if is_shallow(ws.root):
        sys.stderr.write("backfill: note: a shallow clone; commits before its cut-off are not walked\n")
    commits = result_commits(ws.root, ws.config, tip=tip, since=_resolve_since(ws.root, args.since))
    store = open_store(ws)
    try:
        if args.dry_run:
            return _dry_run(store, commits)
        result = backfill(
            ws.root, store, ws.config, commits, branch=label, progress=Progress(sys.stderr, len(commits))
        )
    finally:
        store.close()
    sys.stderr.write(
        f"backfill: {_plural(result.with_results, 'commit')} with results, "
        f"{len(result.recorded)} recorded, {result.already} already in the ledger\n"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ledger.commits.backfill ARGS`, until `ledger backfill` is wired into the CLI."""
    from ledger.core.error_handler import Exit, error_handler

    parser = argparse.ArgumentParser(prog="ledger")
    register(parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND"))
    args = parser.parse_args(["backfill", *(sys.argv[1:] if argv is None else argv)])
    try:
        with error_handler():
            return int(args.func(args))
    except Exit as e:
        return e.code


def result_commits(root: Path, config: Config, *, tip: str, since: str | None) -> list[LoggedCommit]:
    """Commits reachable from `tip` but not `since` that carry results, oldest first."""
    from ledger.commits.runs import carries_results, declared_results, result_pathspecs
    from ledger.git import batch as git_batch

    revs = [tip] if since is None else [tip, f"^{since}"]
    declared = declared_results(root)
    commits = git_batch.log_commits(root, revs, result_pathspecs(config, declared))
    # git's pathspec already chose them; the matcher has the final word, as in the hook.
    return [c for c in commits if carries_results(c.paths, config, declared)]


def backfill(
    root: Path,
    store: Store,
    config: Config,
    commits: Sequence[LoggedCommit],
    *,
    branch: str | None,
    progress: Progress | None = None,
) -> BackfillResult:
    """Read and record `commits` in batches; each new run's commit is kept under its ref."""
    from ledger.commits.runs import keep_reachable, known_commits, read_commit_runs, record_commit_runs
    from ledger.core.errors import GitError

    known = known_commits(store, [c.sha for c in commits])
    todo = [c.sha for c in commits if c.sha not in known]
    recorded: list[RunId] = []
    if progress is not None:
        progress.update(len(commits) - len(todo))
    for start in range(0, len(todo), BATCH_SIZE):
        batch = todo[start : start + BATCH_SIZE]
        runs = read_commit_runs(root, batch, config=config, source="backfill", branch=branch)
        new = record_commit_runs(store, runs)
        try:
            keep_reachable(root, runs, new)
        except GitError as e:  # the runs are in; only their protection against gc is missing
            sys.stderr.write(f"backfill: warning: {e}\n")
        recorded += new
        if progress is not None:
            progress.update(len(batch))
    if progress is not None:
        progress.done()
    return BackfillResult(len(commits), recorded, len(commits) - len(recorded))


class Progress:
    """A `\\r`-updated count on a terminal; silent when stderr is a file or a pipe."""

    def __init__(self, stream: TextIO, total: int) -> None:
        self._stream = stream
        self._total = total
        self._count = 0
        self._live = stream.isatty() and total > 0
        self._width = 0
        self._started = time.monotonic()

    def update(self, count: int) -> None:
        self._count += count
        if not self._live:
            return
        elapsed = time.monotonic() - self._started
        rate = f", {self._count / elapsed:,.0f}/s" if elapsed > 0.5 else ""
        line = f"backfill: {self._count}/{self._total} commits{rate}"
        self._width = max(self._width, len(line))
        self._stream.write(f"\r{line.ljust(self._width)}")
        self._stream.flush()

    def done(self) -> None:
        if self._live and self._width:
            self._stream.write(f"\r{' ' * self._width}\r")
            self._stream.flush()


def not_recorded(store: Store, commits: Sequence[LoggedCommit]) -> list[LoggedCommit]:
    """The commits among `commits` whose results the ledger does not hold, in order."""
    from ledger.commits.runs import known_commits

    known = known_commits(store, [c.sha for c in commits])
    return [c for c in commits if c.sha not in known]


def _dry_run(store: Store, commits: Sequence[LoggedCommit]) -> int:
    todo = not_recorded(store, commits)
    for c in todo:
        day = time.strftime("%Y-%m-%d %H:%M", time.gmtime(c.committed_at))
        sys.stdout.write(f"{c.sha[:12]}  {day}  {', '.join(c.paths)}\n")
    sys.stderr.write(
        f"backfill (dry run): {_plural(len(commits), 'commit')} with results, "
        f"{len(todo)} would be recorded, {len(commits) - len(todo)} already in the ledger\n"
    )
    return 0


def _resolve_branch(root: Path, branch: str | None) -> tuple[str, str | None]:
    """The tip to walk and the branch name runs get (None for a detached HEAD, a SHA, a tag)."""
    from ledger.core.errors import GitError, LedgerError
    from ledger.git import batch as git_batch

    if branch is not None:
        tip = git_batch.verify_commit(root, branch)
        if tip is None:
            raise LedgerError(f"no branch or commit named {branch!r}", hint="see `git branch --all`")
        return tip, git_batch.branch_name(root, branch)
    tip = git_batch.verify_commit(root, "HEAD")
    if tip is None:
        raise GitError("the repository has no commits yet", hint="nothing to backfill before a first commit")
    return tip, git_batch.current_branch(root)


def _resolve_since(root: Path, since: str | None) -> str | None:
    from ledger.core.errors import LedgerError
    from ledger.git import batch as git_batch

    if since is None:
        return None
    sha = git_batch.verify_commit(root, since)
    if sha is None:
        raise LedgerError(f"--since: no commit named {since!r}", hint="give a SHA, tag or branch")
    return sha


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


if __name__ == "__main__":
    raise SystemExit(main())
