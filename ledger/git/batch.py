"""Git plumbing in bulk: many commits, trees and blobs per process, for walking history.

Backfill reads thousands of commits; one `git` process per commit would cost more
than everything else together. Each function here answers for a whole batch with one
process (`git log`, `git diff-tree --stdin`, `git cat-file --batch`). Plain
`git` processes (`ledger.git.command`): the pipes are driven by hand, and the hook path
must not pay GitPython's import. Git's location variables are always scrubbed: history
is read from the repository of the folder given, whoever started the process.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from ledger.core.errors import GitError
from ledger.git.command import git_bytes, start

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path
    from types import TracebackType

EMPTY_TREES = {
    40: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    64: "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
}
"""The empty tree of SHA-1 and SHA-256 repositories, by hash length: git knows both
without having them stored, and a diff from it lists a whole tree."""

REQUEST_CHUNK_BYTES = 8 * 1024
"""`cat-file` requests written before reading answers: well under any OS pipe buffer,
so the write can never block while git waits for us to read (no deadlock)."""

_REGULAR = frozenset({"100644", "100755"})


@dataclass(frozen=True, slots=True)
class LoggedCommit:
    """A commit from `git log`, with the paths it added or modified (pathspec-limited)."""

    sha: str
    committed_at: int
    """Committer time, Unix seconds."""
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TreeFile:
    """A regular file in a tree: its repo-relative path and blob id."""

    path: str
    oid: str


@dataclass(frozen=True, slots=True)
class GitObject:
    """An object `cat-file` returned."""

    oid: str
    type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class CommitHeader:
    """What a commit object says about itself that a run record needs."""

    tree: str
    committed_at: int


def verify_commit(root: Path, rev: str) -> str | None:
    """The full SHA of the commit `rev` names, or None when it names no commit."""
    out = git_bytes(
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"{rev}^{{commit}}",
        check=False,
        cwd=root,
        scrub=True,
    )
    sha = out.decode().strip()
    return sha or None


def branch_name(root: Path, rev: str) -> str | None:
    """The branch `rev` names (`main`, `origin/main`), or None for a SHA, tag or expression."""
    if rev.startswith("-"):  # no ref name starts with a dash; git would read an option
        return None
    # Not --end-of-options: git 2.39's --symbolic-full-name echoes it as a name.
    full = (
        git_bytes("rev-parse", "--symbolic-full-name", rev, check=False, cwd=root, scrub=True)
        .decode()
        .strip()
    )
    for prefix in ("refs/heads/", "refs/remotes/"):
        if full.startswith(prefix):
            return full.removeprefix(prefix)
    return None


def current_branch(root: Path) -> str | None:
    """The checked-out branch's short name; None on a detached HEAD."""
    out = git_bytes("symbolic-ref", "--quiet", "--short", "HEAD", check=False, cwd=root, scrub=True)
    return out.decode().strip() or None


def is_shallow(root: Path) -> bool:
    """Whether history is cut short (a shallow clone): its oldest commits look like roots."""
    return git_bytes("rev-parse", "--is-shallow-repository", cwd=root, scrub=True).strip() == b"true"


def log_commits(root: Path, revs: Sequence[str], pathspecs: Sequence[str]) -> list[LoggedCommit]:
    """Non-merge commits reachable from `revs` that add or modify a path in `pathspecs`.

    Oldest first, parents before children. `--full-history`, because git's default
    simplification would hide a side branch whose changes a merge later dropped.
    Deleting a file is not a change that carries results (`--diff-filter=d`).
    """
    out = git_bytes(
        "log", "-z", "--reverse", "--date-order", "--no-merges", "--full-history", "--no-renames",
        "--no-color", "--no-show-signature", "--diff-filter=d", "--name-only", "--format=%x01%H %ct",
        *revs, "--", *pathspecs, cwd=root, scrub=True,
    )  # fmt: skip
    commits = []
    for entry in out.split(b"\x01")[1:]:
        header, _, names = entry.partition(b"\0")
        sha, _, when = header.decode().partition(" ")
        paths = tuple(os.fsdecode(p) for p in names.lstrip(b"\n").split(b"\0") if p)
        commits.append(LoggedCommit(sha, int(when), paths))
    return commits


def list_trees(root: Path, trees: Sequence[str], pathspecs: Sequence[str]) -> dict[str, list[TreeFile]]:
    """The regular files matching `pathspecs` in each tree, from one `git diff-tree --stdin`.

    Each tree is diffed against the empty tree, which lists every file it holds.
    Symlinks and submodules are left out: their "content" is not a file's.
    """
    found: dict[str, list[TreeFile]] = {tree: [] for tree in trees}
    if not trees:
        return found
    empty = EMPTY_TREES[len(trees[0])]
    stdin = "".join(f"{empty} {tree}\n" for tree in found).encode()
    out = git_bytes(
        "diff-tree",
        "--stdin",
        "-r",
        "-z",
        "--raw",
        "--no-renames",
        "--",
        *pathspecs,
        stdin=stdin,
        cwd=root,
        scrub=True,
    )
    current: list[TreeFile] | None = None
    pos, end = 0, len(out)
    while pos < end:
        if out[pos] == ord(":"):  # ":000000 100644 0000... <oid> A\0<path>\0"
            meta_end = out.index(b"\0", pos)
            path_end = out.index(b"\0", meta_end + 1)
            _, mode, _, oid, _ = out[pos + 1 : meta_end].decode().split(" ")
            if current is not None and mode in _REGULAR:
                current.append(TreeFile(os.fsdecode(out[meta_end + 1 : path_end]), oid))
            pos = path_end + 1
        else:  # a "<empty> <tree>\n" header starts each pair's entries
            line_end = out.index(b"\n", pos)
            current = found.get(out[pos:line_end].decode().partition(" ")[2])
            pos = line_end + 1
    return found


def parse_commit(data: bytes) -> CommitHeader:
    """Read the tree and committer time from a raw commit object."""
    tree = ""
    committed_at = 0
    for line in data.split(b"\n\n", 1)[0].split(b"\n"):
        if line.startswith(b"tree "):
            tree = line[5:].decode()
        elif line.startswith(b"committer "):
            committed_at = int(line.rsplit(b" ", 2)[1])
    return CommitHeader(tree, committed_at)


def create_refs(root: Path, refs: Iterable[tuple[str, str]]) -> None:
    """Create `(ref, sha)` refs in one `git update-ref --stdin` transaction."""
    stdin = "".join(f"create {ref} {sha}\n" for ref, sha in refs).encode()
    if stdin:
        git_bytes("update-ref", "--stdin", stdin=stdin, cwd=root, scrub=True)


def glob_regex(patterns: Iterable[str]) -> re.Pattern[str]:
    """One regex matching a repo-relative POSIX path against any of `patterns`.

    The semantics of git's `:(glob)` pathspec magic, so `git log` pre-filters with the
    very patterns this matches: `*`, `?` and `[...]` never match `/`; `**/` at the
    start or after a `/` matches any number of folders (zero included); a trailing
    `/**` matches everything inside; `\\` escapes the next character.
    """
    return _compiled(tuple(patterns))


@functools.lru_cache(maxsize=32)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = [_glob_to_regex(p) for p in patterns] or ["(?!)"]
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


class CatFile:
    """One `git cat-file --batch` process, asked for many objects at a time.

    Use as a context manager; `read` may be called any number of times.
    """

    def __init__(self, root: Path) -> None:
        self._proc = start("cat-file", "--batch", cwd=root, scrub=True)
        if self._proc.stdin is None or self._proc.stdout is None:  # pragma: no cover - PIPE was asked
            raise GitError("git cat-file has no pipes")
        self._in: IO[bytes] = self._proc.stdin
        self._out: IO[bytes] = self._proc.stdout

    def __enter__(self) -> CatFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def read(self, names: Sequence[str]) -> list[GitObject | None]:
        """The objects `names` (`<sha>`, `<sha>:<path>`) designate, None where missing.

        A name holding a newline cannot be asked for (the protocol is line-based): None.
        """
        found: list[GitObject | None] = []
        chunk: list[str] = []
        size = 0
        for name in names:
            chunk.append(name)
            size += len(name) + 1
            if size >= REQUEST_CHUNK_BYTES:
                found += self._ask(chunk)
                chunk, size = [], 0
        found += self._ask(chunk)
        return found

    def close(self) -> None:
        """End the process (closing its stdin is all it needs)."""
        with contextlib.suppress(BrokenPipeError):
            self._in.close()
        self._out.close()
        self._proc.wait()

    def _ask(self, names: Sequence[str]) -> list[GitObject | None]:
        asked = [name for name in names if "\n" not in name]
        if not asked:
            return [None] * len(names)
        try:
            self._in.write(b"".join(os.fsencode(name) + b"\n" for name in asked))
            self._in.flush()
        except BrokenPipeError as e:
            raise GitError("git cat-file stopped unexpectedly") from e
        answers = iter([self._answer() for _ in asked])
        return [next(answers) if "\n" not in name else None for name in names]

    def _answer(self) -> GitObject | None:
        header = self._out.readline()
        if not header.endswith(b"\n"):
            raise GitError("git cat-file stopped unexpectedly")
        parts = header[:-1].rsplit(b" ", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            return None  # "<name> missing" or "<name> ambiguous"
        size = int(parts[2])
        data = self._out.read(size + 1)[:size]  # the content, then a newline
        if len(data) != size:
            raise GitError("git cat-file stopped unexpectedly")
        return GitObject(parts[0].decode(), parts[1].decode(), data)


def _glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i) and (i == 0 or pattern[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == n:
            out.append("/.*")
            i += 3
        elif c == "*":
            while i < n and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[" and (close := _class_end(pattern, i)) != -1:
            body = pattern[i + 1 : close]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            body = body.replace("\\", "\\\\").replace("[", "\\[")
            out.append(f"[^/{body}]" if negate else f"(?!/)[{body}]")
            i = close + 1
        elif c == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _class_end(pattern: str, start: int) -> int:
    """Index of the `]` closing the class opened at `start`, or -1 (then `[` is literal)."""
    i = start + 1
    if i < len(pattern) and pattern[i] in "!^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":  # a leading `]` is a member
        i += 1
    return pattern.find("]", i)
