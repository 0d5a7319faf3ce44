"""Git reads the terminal UI needs: commit subjects for the runs table, a run's code patch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.core.errors import GitError
from ledger.git.command import existing_commits, git
from ledger.git.refs import REF_SPEC

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ledger.core.records import RunDetail

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
"""Git's empty tree: what a snapshot taken before the first commit is compared with."""

MAX_PATCH_CHARS = 2_000_000
"""A code patch longer than this is cut (a terminal cannot show more usefully)."""


@dataclass(frozen=True, slots=True)
class CodePatch:
    """A run's snapshot against its HEAD commit; `problem` says why there is no patch."""

    base: str | None
    snapshot: str | None
    text: str
    problem: str | None = None
    truncated: bool = False


def commit_subjects(root: Path | None, shas: Sequence[str]) -> dict[str, str]:
    """The subject line of each commit this repository has (others are left out)."""
    wanted = sorted({s for s in shas if s})
    if root is None or not wanted:
        return {}
    try:
        present = existing_commits(root, wanted)
        if not present:
            return {}
        out = git(
            "log",
            "--no-walk=unsorted",
            "--format=%H%x1f%s",
            "--stdin",
            cwd=root,
            stdin="\n".join(sorted(present)) + "\n",
        )
    except GitError:
        return {}
    found = {}
    for line in out.splitlines():
        sha, _, subject = line.partition("\x1f")
        found[sha] = subject
    return found


def snapshot_patch(root: Path | None, detail: RunDetail) -> CodePatch:
    """The run's code snapshot as a patch against the commit it started from."""
    snapshot, base = detail.snapshot, detail.summary.commit
    if snapshot is None:
        return CodePatch(base, None, "", problem="this run recorded no code snapshot")
    if root is None:
        return CodePatch(base, snapshot, "", problem="not inside the run's git repository")
    wanted = [snapshot] if base is None else [snapshot, base]
    try:
        present = existing_commits(root, wanted)
    except GitError as e:
        return CodePatch(base, snapshot, "", problem=str(e))
    if snapshot not in present:
        return CodePatch(
            base,
            snapshot,
            "",
            problem=f"snapshot {snapshot[:12]} is not in this repository "
            f"(fetch it: git fetch origin '{REF_SPEC}')",
        )
    against = base if base in present else EMPTY_TREE
    try:
        text = git("diff", "--no-color", "--no-ext-diff", against, snapshot, cwd=root)
    except GitError as e:
        return CodePatch(base, snapshot, "", problem=str(e))
    cut = len(text) > MAX_PATCH_CHARS
    return CodePatch(base, snapshot, text[:MAX_PATCH_CHARS], truncated=cut)
