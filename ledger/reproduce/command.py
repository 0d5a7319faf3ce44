"""`ledger reproduce ID`: re-run a past run from its code, data, environment and seeds,
recorded as a new run linked to it, and say whether every metric matched.

1. code: a new git worktree at the run's snapshot ref (else its commit, with a warning);
2. data: every DVC-tracked path restored with DVC (cache, else remote) and verified;
3. environment: drift from the recorded lockfile printed; `--env rebuild` runs in a
   virtualenv built from it (cached by digest);
4. run: the recorded argv (never a shell string) under `ledger run`, with the seeds;
5. verdict: every metric and every file both runs wrote, compared (`ledger.core.verdict`).

Exit codes, for CI: 0 matched, 1 did not match, 4 inconclusive (nothing to compare),
5 could not run (the plan's problem or a failed step is named), 130 interrupted.

Only the standard library is imported at the top: `ledger.cli.main` imports this module
to list the command; the work is `ledger.reproduce.steps`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ledger reproduce` to the CLI's subcommands."""
    p = sub.add_parser(
        "reproduce",
        help="re-run a past run from its code, data, environment and seeds; say if it matched",
        description=(__doc__ or "").split("\n\n")[0],
    )
    _arguments(p)
    p.set_defaults(func=cmd_reproduce)


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Reproduce a run (or print the plan with --dry-run); the exit code is the outcome's."""
    from ledger.reproduce.steps import reproduce  # the CLI imports this module to list the command

    return reproduce(args)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ledger.reproduce.command ...`: the command on its own (as `ledger reproduce`)."""
    from ledger.core.error_handler import Exit, error_handler

    parser = argparse.ArgumentParser(
        prog="ledger reproduce", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    _arguments(parser)
    args = parser.parse_args(argv)
    try:
        with error_handler():
            return cmd_reproduce(args)
    except Exit as e:
        return e.code


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run ID (any unique prefix), name, or 'latest'")
    p.add_argument(
        "--dir", type=Path, help="make the worktree here (a new or empty folder); default: a temporary folder"
    )
    p.add_argument(
        "--env",
        choices=("current", "rebuild"),
        default="current",
        help="run in this environment (default; its drift from the recorded one is printed), "
        "or in a virtualenv rebuilt from the recorded lockfile (cached, reused)",
    )
    p.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="KEY=ABS[,REL]",
        help="how far a metric may differ (KEY may be a glob, e.g. '*loss=1e-6'); repeatable; "
        "default exact, or [tool.ledger] tolerance",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; change and run nothing")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the verdict as one JSON object on stdout (progress stays on stderr), for CI",
    )
    p.add_argument("--keep", action="store_true", help="keep the worktree afterwards, to look at it")


if __name__ == "__main__":
    raise SystemExit(main())
