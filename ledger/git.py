"""Everything the ledger asks of git, through GitPython; no other module imports `git`.

Snapshots are built in a temporary index (`GIT_INDEX_FILE`), so the user's index and
files are never touched, and kept reachable under `refs/ledger/runs/<id>`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import git

from ledger.errors import GitError, NotAGitRepoError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

SNAPSHOT_REF_PREFIX = "refs/ledger/runs/"
SNAPSHOT_IDENTITY = {
    "GIT_AUTHOR_NAME": "exp-ledger",
    "GIT_AUTHOR_EMAIL": "exp-ledger@localhost",
    "GIT_COMMITTER_NAME": "exp-ledger",
    "GIT_COMMITTER_EMAIL": "exp-ledger@localhost",
}
"""Snapshot commits are machine-made: a fixed identity means no user.email is needed."""


@dataclass(frozen=True, slots=True)
class WorkTree:
    """HEAD and what differs from it, read in one `git status` call."""

    commit: str | None
    """None in a repository with no commits yet."""
    branch: str | None
    """None on a detached HEAD."""
    changed: tuple[str, ...]
    """Tracked paths whose work-tree content differs from HEAD (incl. deleted, renamed)."""
    untracked: tuple[str, ...]
    """Untracked files git does not ignore."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The commit holding a run's exact code, and what was left out of it."""

    commit: str
    tree: str
    """The snapshot's tree: what the hooks compare the index with."""
    dirty: bool
    skipped: tuple[tuple[str, str], ...]


@contextlib.contextmanager
def open_repo(path: Path) -> Iterator[git.Repo]:
    """Open the repository at `path`; closed on exit (GitPython leaks otherwise)."""
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as e:
        raise NotAGitRepoError(
            f"not a git repository: {path}", hint="run this inside a git repository"
        ) from e
    try:
        yield repo
    finally:
        repo.close()


def read_worktree(repo: git.Repo) -> WorkTree:
    """Read HEAD, branch and changes with `git status --porcelain=v2 -z`."""
    out = _git(repo, "status", "--porcelain=v2", "-z", "--branch", "--untracked-files=all")
    commit: str | None = None
    branch: str | None = None
    changed: list[str] = []
    untracked: list[str] = []
    fields = out.split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if entry.startswith("# branch.oid "):
            oid = entry.removeprefix("# branch.oid ")
            commit = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry.removeprefix("# branch.head ")
            branch = None if head == "(detached)" else head
        elif entry.startswith("1 "):
            changed.append(entry.split(" ", 8)[8])
        elif entry.startswith("2 "):
            changed.append(entry.split(" ", 9)[9])
            changed.append(fields[i])  # the rename's origin path follows as its own field
            i += 1
        elif entry.startswith("u "):
            changed.append(entry.split(" ", 10)[10])
        elif entry.startswith("? "):
            untracked.append(entry[2:])
    return WorkTree(commit, branch, tuple(changed), tuple(untracked))


def make_snapshot(
    repo: git.Repo,
    tree: WorkTree,
    *,
    ref: str,
    deny: Sequence[str],
    max_file_bytes: int,
    max_total_bytes: int,
) -> Snapshot:
    """Commit the whole work tree as it is now under `ref`, without touching the index.

    A clean tree needs no new commit: the ref points at HEAD itself.
    """
    root = Path(repo.working_tree_dir or ".")
    if tree.commit is not None and not tree.changed and not tree.untracked:
        _git(repo, "update-ref", ref, tree.commit)
        return Snapshot(
            tree.commit, _git(repo, "rev-parse", f"{tree.commit}^{{tree}}"), dirty=False, skipped=()
        )
    skipped: list[tuple[str, str]] = []
    paths: list[str] = []
    total = 0
    for path in (*tree.changed, *tree.untracked):
        reason, size = _exclusion(root / path, path, deny=deny, max_file_bytes=max_file_bytes)
        if reason is None and total + size > max_total_bytes:
            reason = f"snapshot total over {max_total_bytes} bytes"
        if reason is not None:
            skipped.append((path, reason))
            continue
        total += max(size, 0)
        paths.append(path)
    with tempfile.TemporaryDirectory(prefix="ledger-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **SNAPSHOT_IDENTITY}
        if tree.commit is None:
            _git(repo, "read-tree", "--empty", env=env)
        else:
            _git(repo, "read-tree", tree.commit, env=env)
        if paths:
            listing = Path(tmp) / "paths"
            listing.write_bytes(b"".join(os.fsencode(p) + b"\0" for p in paths))
            with listing.open("rb") as stdin:
                _git(repo, "update-index", "--add", "--remove", "-z", "--stdin", env=env, stdin=stdin)
        tree_sha = _git(repo, "write-tree", env=env)
        parents = [] if tree.commit is None else ["-p", tree.commit]
        commit = _git(repo, "commit-tree", tree_sha, *parents, "-m", f"exp-ledger snapshot {ref}", env=env)
    _git(repo, "update-ref", ref, commit)
    return Snapshot(commit, tree_sha, dirty=True, skipped=tuple(skipped))


def list_files(repo: git.Repo, *pathspecs: str) -> list[str]:
    """Tracked and untracked-not-ignored files matching `pathspecs`."""
    out = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *pathspecs)
    return sorted({p for p in out.split("\0") if p})


def _exclusion(full: Path, path: str, *, deny: Sequence[str], max_file_bytes: int) -> tuple[str | None, int]:
    """Why a path must stay out of a snapshot (None if it may go in), and its size.

    A size of -1 means the file is gone: a deleted tracked file is recorded as deleted.
    """
    name = path.rsplit("/", 1)[-1]
    for pattern in deny:
        if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(path, pattern):
            return f"matches deny pattern {pattern!r}", 0
    try:
        size = full.lstat().st_size
    except FileNotFoundError:
        return None, -1
    if size > max_file_bytes:
        return f"larger than {max_file_bytes} bytes ({size})", size
    return None, size


def _git(repo: git.Repo, *args: str, env: dict[str, str] | None = None, stdin: object = None) -> str:
    try:
        out = repo.git.execute(["git", *args], env=env, istream=stdin)  # type: ignore[call-overload]
    except git.GitCommandError as e:
        raise GitError(f"git {args[0]} failed: {' '.join(str(e.stderr).split())}") from e
    return str(out)
