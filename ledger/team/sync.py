"""`ledger sync`: copy runs between two ledgers, and code snapshots between two gits.

`--to URL` copies this ledger's runs into another (a team's PostgreSQL, a SQLite
file); `--from URL` copies the other way. Runs are matched by ID, so syncing is
idempotent: a second sync copies nothing. With no direction, `ledger sync` delivers
the runs queued in the local outbox while the ledger server was unreachable.
`--git-remote NAME` also pushes (or fetches) `refs/ledger/*`, so a teammate's clone
has the exact code of every run and can reproduce it.

Only the standard library is imported at module level: `ledger.cli.main` imports this
module to register the command, and must stay light.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.urls import sqlite_file, sqlite_url

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from ledger.store.transfer import CopyReport
    from ledger.store.workspace import Workspace


@dataclass(frozen=True, slots=True)
class RefsMoved:
    """What `--git-remote` did."""

    direction: str
    """`push` or `fetch`."""
    remote: str
    refs: int
    """Ledger refs the local repository holds afterwards."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ledger sync` to the CLI."""
    from ledger.git.refs import NAMESPACE

    p = sub.add_parser(
        "sync",
        help="copy runs to or from another ledger (SQLite <-> PostgreSQL), by run ID",
        description=(
            "Copy runs between this ledger and another, by run ID: every part of each record, "
            "tags and notes merged; a second sync copies nothing. Without --to/--from, deliver "
            "the runs queued locally while the ledger server was unreachable."
        ),
    )
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--to", metavar="URL", help="copy this ledger's runs into URL (or a SQLite path)")
    direction.add_argument(
        "--from",
        dest="from_url",
        metavar="URL",
        help="copy the runs of URL (or a SQLite path) into this ledger",
    )
    p.add_argument(
        "--git-remote",
        metavar="NAME",
        help=f"also push (--to) or fetch (--from) the code snapshot refs {NAMESPACE}* through this git remote",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("filter", nargs="*", help="only the runs matching this filter, e.g. 'tag:paper'")
    p.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    """Run `ledger sync`."""
    from ledger.core.progress import ProgressBar
    from ledger.store.workspace import locate

    ws = locate()
    bar = ProgressBar("runs", enabled=False if args.no_progress else None)
    refused: list[tuple[str, str]] = []
    try:
        if args.to is None and args.from_url is None:
            _say(_deliver_outbox(ws, bar))
            direction = "push"
        else:
            other = as_url(args.to if args.to is not None else args.from_url)
            direction = "push" if args.to is not None else "fetch"
            report = sync(
                ws.url if direction == "push" else other,
                other if direction == "push" else ws.url,
                where=" ".join(args.filter),
                progress=bar,
                spool_dir=ws.spool_dir,
            )
            bar.close()
            _say(f"synced {_describe(report)} {'to' if direction == 'push' else 'from'} {_safe(other)}")
            refused = report.refused
    finally:
        bar.close()
    for run_id, why in refused:
        sys.stderr.write(f"ledger: run {run_id} not copied: {why}\n")
    if args.git_remote:
        moved = move_refs(ws.root, args.git_remote, direction=direction)
        verb = "pushed to" if moved.direction == "push" else "fetched from"
        _say(f"snapshot refs {verb} {moved.remote} ({moved.refs} in this repository)")
    return 1 if refused else 0


def sync(
    source_url: str,
    target_url: str,
    *,
    where: str = "",
    progress: Callable[[int, int], None] | None = None,
    spool_dir: Path | None = None,
) -> CopyReport:
    """Copy the runs of `source_url` matching `where` into `target_url`.

    A fresh target database gets the schema first; an older one must be upgraded
    with `ledger db upgrade` (every client of a shared ledger moves at once).

    Raises:
        LedgerError: the two URLs name one ledger, a filter is invalid, or a
            ledger cannot be opened (one line naming the host).
    """
    from ledger.core.errors import LedgerError
    from ledger.core.filters import parse_filter
    from ledger.read.filter_clause import compile_filter
    from ledger.store.engine import connect
    from ledger.store.transfer import copy_runs, run_ids

    if _same(source_url, target_url):
        raise LedgerError(f"both sides are the same ledger: {_safe(source_url)}", hint="name another ledger")
    expr = parse_filter(where) if where.strip() else None
    source = connect(source_url)
    try:
        target = connect(target_url)
        try:
            if spool_dir is not None and source.is_sqlite:
                from ledger.delivery.liveness import reap_dead_runs

                reap_dead_runs(source, spool_dir)  # a dead run must not travel as running
            ids = run_ids(source, where=None if expr is None else compile_filter(expr))
            return copy_runs(source, target, ids, progress=progress)
        finally:
            target.close()
    finally:
        source.close()


def move_refs(root: Path, remote: str, *, direction: str) -> RefsMoved:
    """Push or fetch `refs/ledger/*` through a git remote (plain git, no force).

    Raises:
        GitError: git refused; the message carries its stderr.
    """
    from ledger.git.command import git
    from ledger.git.refs import REF_SPEC

    if direction == "push":
        if not _ledger_refs(root):
            return RefsMoved("push", remote, 0)
        git("push", "--quiet", remote, REF_SPEC, cwd=root)
    else:
        git("fetch", "--quiet", remote, REF_SPEC, cwd=root)
    return RefsMoved(direction, remote, len(_ledger_refs(root)))


def as_url(text: str) -> str:
    """A ledger URL as given, or a path to a SQLite file made into one."""
    if "://" in text:
        return text
    return sqlite_url(Path(text).expanduser().resolve())


def _deliver_outbox(ws: Workspace, bar: Callable[[int, int], None]) -> str:
    from ledger.delivery import outbox
    from ledger.store.workspace import open_store

    waiting = outbox.pending(ws)
    if not waiting:
        return "nothing queued in the local outbox"
    store = open_store(ws)
    try:
        report = outbox.deliver(ws, store, progress=bar)
    finally:
        store.close()
    if report is None:
        return "another process is delivering the local outbox right now"
    left = outbox.pending(ws)
    still = f"; {left} still running, delivered when they end" if left else ""
    return f"delivered {_describe(report)} from the local outbox to {_safe(ws.url)}{still}"


def _describe(report: CopyReport) -> str:
    parts = [
        f"{report.copied} run(s) copied",
        f"{report.updated} updated",
        f"{report.unchanged} already there",
    ]
    if report.refused:
        parts.append(f"{len(report.refused)} not copied")
    if report.reproductions_skipped:
        parts.append(f"{report.reproductions_skipped} reproduction link(s) skipped (original not synced)")
    return ", ".join(parts)


def _ledger_refs(root: Path) -> list[str]:
    from ledger.git.command import git
    from ledger.git.refs import NAMESPACE

    return git("for-each-ref", "--format=%(refname)", NAMESPACE, cwd=root).split()


def _same(a: str, b: str) -> bool:
    return _safe(a) == _safe(b)


def _safe(url: str) -> str:
    """A URL fit to print: SQLite as its path, a server without its password."""
    if (path := sqlite_file(url)) is not None:
        return str(path)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
