"""Which recent runs the staged code belongs to, from the hooks' small run index.

A run matches when its snapshot differs from the index only in files the run itself
wrote (its metrics, DVC outputs, logs): that is the commit of its code and results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.commits import inbox
from ledger.commits.code_match import RunCode, holding
from ledger.git.command import git

if TYPE_CHECKING:
    from ledger.hooks.context import HookContext

RECENT_SECONDS = 14 * 24 * 3600
"""Runs older than this are not offered for linking by the hooks."""


def index_tree(ctx: HookContext) -> str | None:
    """The tree the commit being made will have; None with unresolved conflicts."""
    out = git("write-tree", cwd=ctx.toplevel, check=False).strip()
    return out or None


def recent_runs(ctx: HookContext, *, now: float) -> list[dict[str, Any]]:
    """Runs that ended recently enough to be committed now, with a snapshot tree."""
    return [
        r
        for r in inbox.recent_runs(ctx.common_dir)
        if r.get("tree") and now - float(r.get("ended_at") or 0) < RECENT_SECONDS
    ]


def matching_runs(ctx: HookContext, tree: str, *, now: float) -> list[dict[str, Any]]:
    """Recent runs whose code equals `tree` except for their own outputs, newest first."""
    runs = recent_runs(ctx, now=now)
    if not runs:
        return []
    held = holding(ctx.toplevel, tree, [run_code(r) for r in runs])
    return [r for r, hold in zip(runs, held, strict=True) if hold][::-1]


def run_code(run: dict[str, Any]) -> RunCode:
    """A run of the hooks' run index, as `ledger.commits.code_match` sees it."""
    return RunCode(code=str(run["tree"]), written=tuple(run.get("outputs") or ()))
