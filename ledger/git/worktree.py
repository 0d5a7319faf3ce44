"""The git side of a reproduction: which commit holds a run's code, and a worktree of it.

Plain `git` subprocesses with git's location variables scrubbed (a reproduction may be
started from a git hook, whose `GIT_DIR`/`GIT_INDEX_FILE` would point at the wrong tree).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.core.errors import GitError, ReproduceError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

SNAPSHOT_REF_PREFIX = "refs/ledger/runs/"

LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
)
"""Variables that make git look somewhere else than the folder it runs in (set in hooks)."""


@dataclass(frozen=True, slots=True)
class CodeSource:
    """The commit a reproduction checks out, and how it was found."""

    commit: str
    ref: str | None
    """The snapshot ref, or None when it is gone and the run's commit is used instead."""
    warning: str | None = None


def find_code(root: Path, *, run_id: str, commit: str | None, dirty: bool | None) -> CodeSource:
    """The run's snapshot ref, else its commit (with a warning); raises if neither exists."""
    ref = f"{SNAPSHOT_REF_PREFIX}{run_id}"
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
        hint="fetch it: git fetch origin 'refs/ledger/*:refs/ledger/*'",
    )


def tree_files(root: Path, commit: str) -> dict[str, str]:
    """Every file of a commit: path -> blob SHA (one `git ls-tree`, no checkout)."""
    listing = _git(root, "ls-tree", "-r", "-z", "--full-tree", commit).split("\0")
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
    out = subprocess.run(
        ["git", "cat-file", "--batch"],
        cwd=root,
        input="".join(f"{sha}\n" for sha in blobs.values()).encode(),
        capture_output=True,
        env=clean_env(),
        check=True,
    ).stdout
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
    _git(root, "worktree", "add", "--quiet", "--detach", str(path), commit)


def remove_worktree(root: Path, path: Path) -> None:
    """Remove a worktree and everything in it (restored data, outputs); never fails loudly."""
    proc = subprocess.run(
        ["git", "worktree", "remove", "--force", "--force", str(path)],
        cwd=root,
        capture_output=True,
        env=clean_env(),
        check=False,
    )
    if proc.returncode != 0 or path.exists():
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run(
            ["git", "worktree", "prune"], cwd=root, capture_output=True, env=clean_env(), check=False
        )


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without git's location variables."""
    env = {k: v for k, v in os.environ.items() if k not in LOCATION_VARS}
    env.update(extra or {})
    return env


def _rev_parse(root: Path, spec: str) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", spec],
        cwd=root,
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, env=clean_env(), check=False
    )
    if proc.returncode != 0:
        raise GitError(
            f"git {args[0]} {args[1] if len(args) > 1 else ''} failed: {' '.join(proc.stderr.split())}".replace(
                "  ", " "
            )
        )
    return proc.stdout
