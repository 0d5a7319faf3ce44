"""Everything the ledger asks of git to capture a run, through plain `git` processes.

Snapshots are built in a temporary index (`GIT_INDEX_FILE`), so the user's index and
files are never touched, and kept reachable under a snapshot ref (`ledger.git.refs`).
GitPython is not used: capture only runs git commands, and importing it cost more than
they do. Git inherits the location variables: a run started with `GIT_DIR` set (a script,
a hook) snapshots the repository they name.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.errors import GitError, NotAGitRepoError
from ledger.git.command import GIT_LOCATION_VARS, git_bytes, subcommand

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

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


@dataclass(frozen=True, slots=True)
class Repo:
    """A work tree to run git in."""

    root: Path
    """The work tree's top folder: git runs there."""
    git_dir: Path | None
    """Its own git dir (a linked worktree has one apart), which holds its index; None
    when git's location variables decide where that is."""


@contextlib.contextmanager
def open_repo(path: Path) -> Iterator[Repo]:
    """The repository whose work tree holds `path` (found by its `.git`, as git does)."""
    for folder in (path, *path.parents):
        dot_git = folder / ".git"
        if dot_git.exists():
            yield Repo(folder, _git_dir(dot_git))
            return
    raise NotAGitRepoError(f"not a git repository: {path}", hint="run this inside a git repository")


def _git_dir(dot_git: Path) -> Path | None:
    """`.git` itself, or where a linked worktree's `.git` file points (`gitdir: ...`)."""
    if any(os.environ.get(name) for name in GIT_LOCATION_VARS):
        return None
    if dot_git.is_dir():
        return dot_git
    try:
        text = dot_git.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    target = text.removeprefix("gitdir:").strip()
    return (dot_git.parent / target) if text.startswith("gitdir:") and target else None


def read_worktree(repo: Repo) -> WorkTree:
    """Read HEAD, branch and changes with `git status --porcelain=v2 -z`."""
    # No optional locks: reading the state must not rewrite (nor lock) the user's index.
    out = _git(
        repo, "--no-optional-locks", "status", "--porcelain=v2", "-z", "--branch", "--untracked-files=all"
    )
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
    repo: Repo,
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
    root = repo.root
    if tree.commit is not None and not tree.changed and not tree.untracked:
        _git(repo, "update-ref", ref, tree.commit)
        return Snapshot(tree.commit, _tree_of(repo, tree.commit), dirty=False, skipped=())
    skipped: list[tuple[str, str]] = []
    paths: list[str] = []
    total = 0
    untracked = set(tree.untracked)
    for path in (*tree.changed, *tree.untracked):
        reason, size = _exclusion(
            root / path, path, deny=deny, max_file_bytes=max_file_bytes, scan=path in untracked
        )
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
            listing = b"".join(os.fsencode(p) + b"\0" for p in paths)
            _git(repo, "update-index", "--add", "--remove", "-z", "--stdin", env=env, stdin=listing)
        tree_sha = _git(repo, "write-tree", env=env)
        parents = [] if tree.commit is None else ["-p", tree.commit]
        commit = _git(repo, "commit-tree", tree_sha, *parents, "-m", f"exp-ledger snapshot {ref}", env=env)
    _git(repo, "update-ref", ref, commit)
    return Snapshot(commit, tree_sha, dirty=True, skipped=tuple(skipped))


SAME_CONTENT_MAX_PATHS = 2000
"""Past this many files a run wrote, they are not compared with the snapshot (the
command line would grow too long); they all count as written."""


def same_as_in(repo: Repo, commit: str, paths: Sequence[str]) -> set[str]:
    """Of `paths`, those whose work-tree content is what `commit` holds (two processes).

    A file's time can change while its content does not: pre-commit stashes and
    restores unstaged files around a commit made while a run goes on.
    """
    if not paths or len(paths) > SAME_CONTENT_MAX_PATHS:
        return set()
    literal = {"GIT_LITERAL_PATHSPECS": "1"}
    listed = _git(repo, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths, env=literal)
    blobs: dict[str, str] = {}
    for entry in listed.split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            blobs[path] = parts[2]
    held = [p for p in paths if p in blobs and (repo.root / p).is_file()]
    if not held:
        return set()
    listing = b"".join(os.fsencode(p) + b"\n" for p in held)
    hashed = _git(repo, "hash-object", "--stdin-paths", stdin=listing).split("\n")
    return {p for p, sha in zip(held, hashed, strict=True) if blobs[p] == sha}


def list_files(repo: Repo, *pathspecs: str, untracked: Sequence[str] | None = None) -> list[str]:
    """Tracked and untracked-not-ignored files matching `pathspecs`.

    `untracked`, the `WorkTree.untracked` just read, spares a walk of the work tree:
    the tracked files then come from the index, and are listed again only when the
    index file changed (`_index_stamp`).
    """
    if untracked is None:
        out = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *pathspecs)
        return sorted({p for p in out.split("\0") if p})
    found = {p for p in untracked if any(_pathspec_match(p, spec) for spec in pathspecs)}
    return sorted(found | set(_tracked_files(repo, pathspecs)))


_trees: dict[str, str] = {}
"""Commit -> its tree: a commit never changes, so each is asked of git once per process."""

_tracked: dict[tuple[str, tuple[str, ...]], tuple[tuple[int, int, int, int], tuple[str, ...]]] = {}
"""(index file, pathspecs) -> the index's stamp when listed, and the tracked files matching."""

INDEX_SETTLED_NS = 2_000_000_000
"""An index file written this recently may be rewritten within one mtime tick unseen
(git's "racy" rule): its listing is not reused yet."""


def _tree_of(repo: Repo, commit: str) -> str:
    tree = _trees.get(commit)
    if tree is None:
        tree = _trees[commit] = _git(repo, "rev-parse", f"{commit}^{{tree}}")
    return tree


def _tracked_files(repo: Repo, pathspecs: tuple[str, ...]) -> tuple[str, ...]:
    """Tracked files matching `pathspecs`, listed again only when the index changed."""
    index = None if repo.git_dir is None else repo.git_dir / "index"
    key = (str(index), pathspecs)
    stamp = None if index is None else _index_stamp(index)
    held = _tracked.get(key)
    if stamp is not None and held is not None and held[0] == stamp:
        return held[1]
    out = _git(repo, "ls-files", "-z", "--cached", "--", *pathspecs)
    files = tuple(p for p in out.split("\0") if p)
    if stamp is not None and stamp[3] < time.time_ns() - INDEX_SETTLED_NS:
        if len(_tracked) >= 16:
            _tracked.clear()
        _tracked[key] = (stamp, files)
    return files


def _index_stamp(index: Path) -> tuple[int, int, int, int] | None:
    # Git replaces the index by renaming a new file over it: the inode, size or mtime change.
    try:
        info = index.stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def _pathspec_match(path: str, spec: str) -> bool:
    """Git's default pathspec rule: the path itself, a folder above it, or a glob whose
    `*` also matches `/` (no `:(glob)` magic)."""
    if path == spec or path.startswith(f"{spec.rstrip('/')}/"):
        return True
    return any(c in spec for c in "*?[") and fnmatch.fnmatchcase(path, spec)


def _exclusion(
    full: Path, path: str, *, deny: Sequence[str], max_file_bytes: int, scan: bool
) -> tuple[str | None, int]:
    """Why a path must stay out of a snapshot (None if it may go in), and its size.

    A size of -1 means the file is gone: a deleted tracked file is recorded as deleted.
    `scan`: read the file (untracked, so never pushed before) for secrets.
    """
    from ledger.git import secret_files  # its patterns compile only when a snapshot is taken

    credential = secret_files.credential_file(path)
    if credential is not None:
        return f"credential file: matches deny pattern {credential!r}", 0
    name = path.rsplit("/", 1)[-1]
    for pattern in deny:
        if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(path, pattern):
            return f"matches deny pattern {pattern!r}", 0
    try:
        info = full.lstat()
    except FileNotFoundError:
        return None, -1
    size, mode = info.st_size, info.st_mode
    if size > max_file_bytes:
        return f"larger than {max_file_bytes} bytes ({size})", size
    secret = secret_files.secret_in_file(full, size) if scan and stat.S_ISREG(mode) else None
    if secret is not None:
        return f"holds a secret ({secret})", size
    return None, size


def _git(repo: Repo, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> str:
    """Run git in the work tree; its stdout without the final newline.

    Output is decoded with `surrogateescape`, so a path git prints that is not UTF-8
    goes back to git as the same bytes (`os.fsencode`).
    """
    try:
        out = git_bytes(*args, cwd=repo.root, env=env, stdin=stdin)
    except OSError as e:
        raise GitError(f"git {subcommand(args)} failed: {e}") from e
    return out.decode("utf-8", "surrogateescape").removesuffix("\n")
