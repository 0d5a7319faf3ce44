"""prepare-commit-msg: add `Ledger-Run: <id>` trailers for the runs this commit holds."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from ledger.git.command import git
from ledger.hooks.context import HookContext, fail_open, hook_context, hooks_disabled
from ledger.hooks.runs_match import index_tree, matching_runs, recent_runs

if TYPE_CHECKING:
    from collections.abc import Sequence

TRAILER = "Ledger-Run"
SHORT = 16
"""Characters of a run ID in the trailer: the millisecond and a counter, unique in practice."""
SKIPPED_SOURCES = ("merge", "squash")
"""A merge or squash message describes other commits' work: a trailer there would be wrong."""


def main(argv: Sequence[str] | None = None) -> int:
    """Append trailers to the message file; always exits 0."""
    if hooks_disabled():
        return 0
    args = list(argv or [])
    source = os.environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE") or (args[1] if len(args) > 1 else "")
    if not args or source in SKIPPED_SOURCES:
        return 0
    found: list[HookContext] = []
    with fail_open("prepare-commit-msg", found):
        ctx = hook_context()
        found.append(ctx)
        if not recent_runs(ctx, now=time.time()):
            return 0  # the common case: no git call, no config read
        from ledger.core.config import load_config

        if not load_config(ctx.toplevel).trailer:
            return 0
        tree = index_tree(ctx)
        if tree is None:
            return 0
        runs = matching_runs(ctx, tree, now=time.time())
        trailers = [arg for r in runs for arg in ("--trailer", f"{TRAILER}: {str(r['id'])[:SHORT]}")]
        if trailers:
            git(
                "interpret-trailers",
                "--in-place",
                "--if-exists",
                "addIfDifferent",
                *trailers,
                args[0],
                cwd=ctx.toplevel,
            )
    return 0
