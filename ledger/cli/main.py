"""The `ledger` command line: one function per subcommand, errors through one handler."""

from __future__ import annotations

import argparse
import sys
from contextlib import closing
from typing import TYPE_CHECKING

from ledger.core.error_handler import Exit, error_handler
from ledger.core.version import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace


CORE_COMMANDS = frozenset({"run", "list", "show", "diff", "log", "tag", "note", "archive", "where", "db"})
"""Commands defined in this module: running one of them does not import the modules
that define the others (a large share of a short command's start)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `ledger` and `exp-ledger`."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    args = _parser(every_command=not args_in or args_in[0] not in CORE_COMMANDS).parse_args(args_in)
    try:
        with error_handler():
            return int(args.func(args))
    except Exit as e:
        return e.code


def cmd_run(args: argparse.Namespace) -> int:
    """Run a command and record it."""
    from ledger.capture.runner import run_command
    from ledger.core.errors import LedgerError
    from ledger.core.limits import check_labels

    check_labels(name=args.name, tags=args.tag)
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise LedgerError("no command given", hint="ledger run -- python train.py")
    return run_command(command, name=args.name, tags=args.tag)


def cmd_list(args: argparse.Namespace) -> int:
    """List runs, filtered and sorted."""
    from ledger.core.filters import parse_filter, parse_sort
    from ledger.read import render, sqlite_snapshot
    from ledger.store.workspace import locate

    where = parse_filter(" ".join(args.filter))
    sort = [parse_sort(s) for s in args.sort]
    wanted_params = _split(args.params)
    wanted_metrics = _split(args.metrics)
    query = {
        "where": where,
        "sort": sort,
        "limit": None if args.all else args.limit,
        "params": wanted_params or ["*"],
        "metrics": wanted_metrics or ["*"],
        "include_archived": args.archived,
    }
    ws = locate()
    runs = sqlite_snapshot.list_runs(ws, **query)
    if runs is None:  # a write must come first, or the ledger is not a plain SQLite file
        from ledger.read import queries

        ws, store = _open(ws)
        with closing(store):
            _reap(ws, store)
            runs = queries.list_runs(store, **query)
    if args.json:
        print(render.to_json(runs))
        return 0
    if not runs:
        print(
            "no runs" + (" match the filter" if where is not None else " yet: try `ledger run -- CMD`"),
            file=sys.stderr,
        )
        return 0
    metrics, params = render.common_keys(runs, limit=4)
    used = [] if where is None else _fields(where)
    used += [(s.field.scope, s.field.name) for s in sort if s.field.scope != "run"]
    for scope, name in used:
        (metrics if scope == "metrics" else params).append(name)
    print(
        render.runs_table(
            runs,
            params=wanted_params or list(dict.fromkeys(params)),
            metrics=wanted_metrics or list(dict.fromkeys(metrics)),
        )
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Show everything about one run."""
    from ledger.read import queries, render

    ws, store = _open()
    with closing(store):
        _reap(ws, store)
        run_id = queries.resolve_run_id(store, args.run)
        detail = queries.with_reproductions(store, queries.get_run(store, run_id))
        env = (
            None
            if detail.environment_digest is None
            else queries.get_environment(store, detail.environment_digest)
        )
        if args.json:
            series = {k: _series_json(queries.get_series(store, run_id, k)) for k in detail.series_keys}
            payload = {"run": detail, "environment": env, "series": series}
            print(render.to_json(payload))
        else:
            print(render.run_detail(detail, env))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Compare runs."""
    from ledger.core.errors import LedgerError
    from ledger.read import queries, render
    from ledger.read.diff import diff_runs

    if len(args.runs) < 2:
        raise LedgerError("give two or more runs to compare", hint="ledger diff ID1 ID2")
    ws, store = _open()
    with closing(store):
        ids = [queries.resolve_run_id(store, r) for r in args.runs]
        root = None if ws.repo is None else ws.repo.toplevel
        diff = diff_runs(store, ids, root=root, patch=args.code)
    print(render.to_json(diff) if args.json else render.runs_diff(diff, show_all=args.all))
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    """Print a run's captured output."""
    from ledger.read import queries

    _, store = _open()
    with closing(store):
        run_id = queries.resolve_run_id(store, args.run)
        text = queries.get_log(store, run_id)
    if text is None:
        print(f"run {args.run} has no captured output", file=sys.stderr)
        return 0
    sys.stdout.write(text)
    return 0


def cmd_tag(args: argparse.Namespace) -> int:
    """Add (or remove) tags."""
    from ledger.core.limits import check_labels
    from ledger.read import queries
    from ledger.store import writes

    check_labels(tags=[] if args.remove else args.tags)
    _, store = _open()
    with closing(store):
        run_id = queries.resolve_run_id(store, args.run)
        if args.remove:
            writes.remove_tags(store, [run_id], args.tags)
        else:
            writes.add_tags(store, [run_id], args.tags)
        tags = queries.get_run(store, run_id).summary.tags
    print(f"{run_id[:12]}: tags {', '.join(tags) or '(none)'}")
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    """Archive (or restore) runs: `ledger list` and `ledger ui` hide them unless asked."""
    from ledger.read import queries
    from ledger.store import archive

    _, store = _open()
    with closing(store):
        ids = list(dict.fromkeys(queries.resolve_run_id(store, text) for text in args.runs))
        changed = archive.set_archived(store, ids, archived=not args.undo)
    verb = "restored" if args.undo else "archived"
    print(
        f"{verb} {changed} of {len(ids)} run(s)"
        + ("" if args.undo else "; `ledger list --archived` shows them")
    )
    return 0


def cmd_note(args: argparse.Namespace) -> int:
    """Set or append a note."""
    from ledger.read import queries
    from ledger.store import writes

    _, store = _open()
    with closing(store):
        run_id = queries.resolve_run_id(store, args.run)
        text = args.message if args.message is not None else sys.stdin.read().strip()
        writes.set_note(store, run_id, text or None, append=args.append)
    return 0


def cmd_where(args: argparse.Namespace) -> int:
    """Print where the ledger lives."""
    from ledger.core.urls import sqlite_file
    from ledger.store.workspace import locate

    ws = locate()
    path = sqlite_file(ws.url)
    print(_hide_password(ws.url) if path is None else path)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Upgrade the ledger's schema to this version's."""
    from ledger.store.engine import connect
    from ledger.store.schema import SCHEMA_HEAD
    from ledger.store.workspace import locate

    store = connect(locate().url, upgrade=True)
    store.close()
    print(f"ledger schema is at {SCHEMA_HEAD}")
    return 0


def cmd_db_grant(args: argparse.Namespace) -> int:
    """Give a server role read, write or admin rights on the team ledger."""
    from ledger.store.engine import connect
    from ledger.store.policies import grant
    from ledger.store.workspace import locate

    level = "admin" if args.admin else "writer" if args.write else "reader"
    store = connect(locate().url)
    with closing(store):
        group = grant(store, args.role, level)
    print(f"{args.role} may now {_MAY[level]} (member of {group})")
    return 0


_MAY = {
    "reader": "list and show every run; its runs stay in its local outbox",
    "writer": "record runs and tag or note any run",
    "admin": "record runs, tag or note any run, archive and delete anyone's runs",
}


def _parser(*, every_command: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledger",
        description="exp-ledger: every training run captured, browsable and reproducible.",
    )
    parser.add_argument("--version", action="version", version=f"exp-ledger {__version__}")
    sub = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a command and record it as a run")
    p.add_argument("--name", help="a name for the run")
    p.add_argument("--tag", action="append", default=[], help="tag the run (repeatable)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("list", help="list runs (filter, sort, --json)")
    p.add_argument(
        "filter", nargs="*", help="e.g. 'metrics.acc > 0.9 and params.lr <= 0.01 and tag:baseline'"
    )
    p.add_argument(
        "-s",
        "--sort",
        action="append",
        default=[],
        help="sort key: metrics.acc, -metrics.acc or metrics.acc:desc (write --sort=-KEY); repeatable",
    )
    p.add_argument("-n", "--limit", type=_count, default=20, help="how many runs (default 20)")
    p.add_argument("--all", action="store_true", help="every matching run")
    p.add_argument("--params", help="comma-separated params to show as columns")
    p.add_argument("--metrics", help="comma-separated metrics to show as columns")
    p.add_argument("--archived", action="store_true", help="include archived runs (`ledger archive`)")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("show", help="everything about one run")
    p.add_argument("run", help="run ID (any unique prefix), name, or 'latest'")
    p.add_argument("--json", action="store_true", help="JSON, with every metric series")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("diff", help="compare runs: params, metrics, data, environment, code")
    p.add_argument("runs", nargs="+", help="two or more run IDs (the first is the baseline)")
    p.add_argument("--all", action="store_true", help="show unchanged params and metrics too")
    p.add_argument("--code", action="store_true", help="include the full code patch")
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("log", help="print a run's captured stdout/stderr")
    p.add_argument("run")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser("tag", help="tag a run")
    p.add_argument("run")
    p.add_argument("tags", nargs="+")
    p.add_argument("--remove", action="store_true", help="remove these tags instead")
    p.set_defaults(func=cmd_tag)

    p = sub.add_parser("note", help="set a run's note (from -m or stdin)")
    p.add_argument("run")
    p.add_argument("-m", "--message", help="the note's text (default: read stdin)")
    p.add_argument("--append", action="store_true", help="add to the note instead of replacing it")
    p.set_defaults(func=cmd_note)

    p = sub.add_parser("archive", help="hide runs from listings, keeping them whole (--undo restores)")
    p.add_argument("runs", nargs="+", help="run IDs (any unique prefix), names, or 'latest'")
    p.add_argument("--undo", action="store_true", help="restore archived runs to the listings")
    p.set_defaults(func=cmd_archive)

    p = sub.add_parser("where", help="print where the ledger is stored")
    p.set_defaults(func=cmd_where)

    if every_command:
        from ledger.cli import ui as ui_command
        from ledger.commits import backfill
        from ledger.reproduce import command as reproduce
        from ledger.setup import doctor, install
        from ledger.team import export, sync

        install.register(sub)
        backfill.register(sub)
        doctor.register(sub)
        reproduce.register(sub)
        ui_command.register(sub)
        sync.register(sub)
        export.register(sub)

    p = sub.add_parser("db", help="ledger database maintenance")
    db = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = db.add_parser("upgrade", help="upgrade the schema (needed for shared databases)")
    up.set_defaults(func=cmd_db_upgrade)
    gr = db.add_parser(
        "grant",
        help="give a server role rights on this team ledger (run by the ledger's owner)",
        description=(
            "Make an existing PostgreSQL role a reader, writer or admin of this ledger. "
            "The server enforces the rights, whatever client the role uses."
        ),
    )
    gr.add_argument("role", help="an existing PostgreSQL role (CREATE ROLE alice LOGIN)")
    level = gr.add_mutually_exclusive_group(required=True)
    level.add_argument("--read", action="store_true", help="list and show every run")
    level.add_argument("--write", action="store_true", help="also record runs and annotate any run")
    level.add_argument("--admin", action="store_true", help="also archive and delete anyone's runs")
    gr.set_defaults(func=cmd_db_grant)
    return parser


def _open(ws: Workspace | None = None) -> tuple[Workspace, Store]:
    """Open the ledger, first ingesting whatever the git hooks left in the inbox."""
    from ledger.commits.ingest import has_pending
    from ledger.store.workspace import locate, open_store

    if ws is None:
        ws = locate()
    store = open_store(ws)
    if has_pending(ws):
        from ledger.commits.ingest import ingest_pending

        ingest_pending(ws, store, wait=30.0)
    return ws, store


def _reap(ws: Workspace, store: Store) -> None:
    from ledger.delivery.liveness import reap_dead_runs

    reap_dead_runs(store, ws.spool_dir)


def _count(text: str) -> int:
    """A number of runs: never negative (SQLite reads -1 as no limit, PostgreSQL refuses
    it), and capped where every database can bind it."""
    if not (text.strip().isascii() and text.strip().isdigit()):
        raise argparse.ArgumentTypeError(f"expected a whole number of runs, 0 or more, got {text!r}")
    return min(int(text), 2**62)


def _split(text: str | None) -> list[str]:
    return [] if not text else [t.strip() for t in text.split(",") if t.strip()]


def _fields(expr: object) -> list[tuple[str, str]]:
    from ledger.core.filters import fields_used

    return [(f.scope, f.name) for f in fields_used(expr)]  # type: ignore[arg-type]


def _series_json(points: object) -> dict[str, list[object]]:
    return {
        "steps": list(points.steps),  # type: ignore[attr-defined]
        "values": list(points.values),  # type: ignore[attr-defined]
        "times_ms": list(points.times_ms),  # type: ignore[attr-defined]
    }


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
