"""post-rewrite: after `git commit --amend` or `git rebase`, note which tips were rewritten.

pre-commit passes only the command (`PRE_COMMIT_REWRITE_COMMAND`), not git's list of
old -> new SHAs, so the hook records the old and new tips (`HEAD@{1}` for an amend,
`ORIG_HEAD` for a rebase) and `ledger.commits.ingest` pairs the commits up by author identity
and date, which both amend and rebase keep.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ledger.commits import inbox
from ledger.git.command import git
from ledger.hooks.context import HookContext, fail_open, hook_context, hooks_disabled, start_ingester

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Record a rewrite event; exit 1 (ignored by git) only to show a failure."""
    if hooks_disabled():
        return 0
    args = list(argv or [])
    command = args[0] if args else os.environ.get("PRE_COMMIT_REWRITE_COMMAND", "")
    found: list[HookContext] = []
    with fail_open("post-rewrite", found) as outcome:
        ctx = hook_context()
        found.append(ctx)
        old_ref = "HEAD@{1}" if command == "amend" else "ORIG_HEAD"
        tips = git("rev-parse", old_ref, "HEAD", cwd=ctx.toplevel).split()
        inbox.post(
            ctx.common_dir, {"kind": "rewrite", "command": command, "old_tip": tips[0], "new_tip": tips[1]}
        )
        start_ingester(ctx)
    return 1 if outcome.failed else 0
