"""pre-commit stage: staged results must come from a run of the code being committed.

`warn` (default) prints one line naming the files that changed since the run that
produced the staged results; `block` also stops the commit; `off` does nothing.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from ledger.commits import inbox
from ledger.commits.code_match import foreign_changes
from ledger.core.config import load_config
from ledger.git.command import git
from ledger.hooks.context import HookContext, fail_open, hook_context, hooks_disabled
from ledger.hooks.runs_match import RECENT_SECONDS, index_tree, run_code

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 1 only in `block` mode when results and code disagree."""
    if hooks_disabled():
        return 0
    found: list[HookContext] = []
    with fail_open("check-results", found) as outcome:
        ctx = hook_context()
        found.append(ctx)
        mode = load_config(ctx.toplevel).check_results
        if mode != "off":
            outcome.code = _check(ctx, block=mode == "block")
    code: int = outcome.code  # 0 when the check itself failed: the commit goes on
    return code


def _check(ctx: HookContext, *, block: bool) -> int:
    staged = set(filter(None, git("diff", "--cached", "--name-only", "-z", cwd=ctx.toplevel).split("\0")))
    now = time.time()
    producers = [
        r
        for r in inbox.recent_runs(ctx.common_dir)
        if r.get("tree")
        and now - float(r.get("ended_at") or 0) < RECENT_SECONDS
        and staged & set(r.get("outputs") or ())
    ]
    tree = index_tree(ctx) if producers else None
    if tree is None:
        return 0
    newest = producers[-1]
    changed = foreign_changes(ctx.toplevel, tree, [run_code(newest)])[0]
    if not changed:
        return 0
    results = ", ".join(sorted(staged & set(newest.get("outputs") or ())))
    names = ", ".join(sorted(changed)[:5]) + (" ..." if len(changed) > 5 else "")
    print(
        f"exp-ledger: {results} staged, but {names} changed since run {str(newest['id'])[:16]} produced it",
        file=sys.stderr,
    )
    if block:
        print(
            "exp-ledger: re-run it with `ledger run -- ...`, or set check_results = 'warn'", file=sys.stderr
        )
        return 1
    return 0
