"""The git side of a reproduction: which commit holds a run's code, and a worktree of it.

Git runs with its location variables scrubbed (a reproduction may be started from a
git hook, whose `GIT_DIR`/`GIT_INDEX_FILE` would point at the wrong tree).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.core.errors import ReproduceError
from ledger.git.command import git, git_bytes, run
from ledger.git.refs import REF_SPEC, snapshot_ref

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


@dataclass(frozen=True, slots=True)
class CodeSource:
    """The commit a reproduction checks out, and how it was found."""

    commit: str
    ref: str | None
    """The snapshot ref, or None when it is gone and the run's commit is used instead."""
    warning: str | None = None


def find_code(root: Path, *, run_id: str, commit: str | None, dirty: bool | None) -> CodeSource:
    """The run's snapshot ref, else its commit (with a warning); raises if neither exists."""
    ref = snapshot_ref(run_id)
    found = _rev_parse(root, f"{ref}^{{commit}}")
    if found is not None:
        return CodeSource(found, ref)
    if commit is not None and _rev_parse(root, f"{commit}^{{commit}}") is not None:
        lost = " and its uncommitted changes are lost" if dirty else ""
        return CodeSource(
            commit,
            None,
            warning=f"the snapshot ref {ref} is gone{lost}; using the run's commit {commit[:12]}",
        )
    what = f"nor its commit {commit[:12]}" if commit else "and it has no commit"
    raise ReproduceError(
        f"the code of run {run_id[:12]} is not in this repository: no {ref}, {what}",
        hint=f"fetch it: git fetch origin '{REF_SPEC}'",
    )


def tree_files(root: Path, commit: str) -> dict[str, str]:
    """Every file of a commit: path -> blob SHA (one `git ls-tree`, no checkout)."""
    listing = git("ls-tree", "-r", "-z", "--full-tree", commit, cwd=root, scrub=True).split("\0")
    files = {}
    for entry in filter(None, listing):
        meta, path = entry.split("\t", 1)
        kind, sha = meta.split()[1:3]
        if kind == "blob":
            files[path] = sha
    return files


def read_blobs(root: Path, blobs: Mapping[str, str]) -> dict[str, bytes]:
    """The contents of blobs (path -> SHA), read in one `git cat-file --batch`."""
    if not blobs:
        return {}
    asked = "".join(f"{sha}\n" for sha in blobs.values()).encode()
    out = git_bytes("cat-file", "--batch", cwd=root, stdin=asked, scrub=True)
    found: dict[str, bytes] = {}
    pos = 0
    for path in blobs:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split()[2])
        found[path] = out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1  # the content is followed by a newline
    return found


def add_worktree(root: Path, path: Path, commit: str) -> None:
    """Check `commit` out, detached, into a new worktree at `path` (new or empty folder)."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ReproduceError(f"{path} exists and is not empty", hint="choose a new folder with --dir")
    git("worktree", "add", "--quiet", "--detach", str(path), commit, cwd=root, scrub=True)


def remove_worktree(root: Path, path: Path) -> None:
    """Remove a worktree and everything in it (restored data, outputs); never fails loudly."""
    proc = run("worktree", "remove", "--force", "--force", str(path), text=False, cwd=root, scrub=True)
    if proc.returncode != 0 or path.exists():
        shutil.rmtree(path, ignore_errors=True)
        run("worktree", "prune", text=False, cwd=root, scrub=True)


def _rev_parse(root: Path, spec: str) -> str | None:
    return git("rev-parse", "--verify", "--quiet", spec, cwd=root, check=False, scrub=True).strip() or None
