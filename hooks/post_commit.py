"""post-commit: note the new commit in the ledger's inbox, then ingest it in the background.

The commit is recorded durably before the hook returns, with two `git` calls and one
fsync; linking it to runs or capturing it as a run happens in `ledger.commits.ingest`.
`hooks/hook.sh` does the same without starting Python; this is the path for
`.pre-commit-hooks.yaml` users and for clones where `ledger init` has not run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.commits import inbox
from ledger.git.command import git
from ledger.hooks.context import HookContext, fail_open, hook_context, hooks_disabled, start_ingester

if TYPE_CHECKING:
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Record HEAD as a commit event; exit 1 (ignored by git) only to show a failure."""
    if hooks_disabled():
        return 0
    found: list[HookContext] = []
    with fail_open("post-commit", found) as outcome:
        ctx = hook_context()
        found.append(ctx)
        inbox.post_commit(ctx.common_dir, git(*inbox.COMMIT_LOG, "HEAD", cwd=ctx.toplevel).encode())
        start_ingester(ctx)
    return 1 if outcome.failed else 0
