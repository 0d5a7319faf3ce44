"""The one way the ledger runs git: a plain `git` subprocess, stdlib only.

It is on the paths that must start fast (git hooks, `ledger list`), so it imports
nothing heavy; every other git call of the ledger goes through it too, so that the
environment git sees is decided in one place (`GIT_LOCATION_VARS`).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, overload

from ledger.core.errors import GitError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

GIT_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_PREFIX",
    "GIT_NAMESPACE",
)
"""Variables that make git look somewhere else than the folder it runs in.

Git exports them to the hooks it runs (`GIT_DIR`, the commit's `GIT_INDEX_FILE`, a
push's quarantined object directories); a git started from a hook for work of its own
(the ingester, a reproduction, backfill) must not inherit them, or it would read and
write the commit's index or objects instead of its own repository's. `scrub=True` drops
them; `hooks/hook.sh` unsets the same set before it starts the ingester (a test keeps
the two equal).
"""


class RepoPaths(NamedTuple):
    """Where a repository lives: its work tree and the git dir its worktrees share.

    A NamedTuple, not a dataclass: this module is on the git-hook path, where
    importing `dataclasses` (and `inspect` with it) costs milliseconds per commit.
    """

    toplevel: Path
    common_dir: Path


@overload
def run(
    *args: str,
    text: Literal[True],
    cwd: Path | None = ...,
    stdin: str | None = ...,
    env: Mapping[str, str] | None = ...,
    scrub: bool = ...,
) -> subprocess.CompletedProcess[str]: ...
@overload
def run(
    *args: str,
    text: Literal[False],
    cwd: Path | None = ...,
    stdin: bytes | None = ...,
    env: Mapping[str, str] | None = ...,
    scrub: bool = ...,
) -> subprocess.CompletedProcess[bytes]: ...
def run(
    *args: str,
    text: bool,
    cwd: Path | None = None,
    stdin: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
    scrub: bool = False,
) -> subprocess.CompletedProcess[str] | subprocess.CompletedProcess[bytes]:
    """Run `git ARGS` to completion, capturing both streams, whatever its exit code.

    `env` adds variables to (or overrides them in) this process's environment. `scrub`
    drops `GIT_LOCATION_VARS` first: git then works on the repository of `cwd`, whatever
    a hook around this process set. With neither, git inherits the environment as it
    is: a hook's own questions are about the commit being made, its index included.

    Raises:
        OSError: git could not start (not installed, `cwd` gone).
    """
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=text,
        env=_env(env, scrub=scrub),
        check=False,
    )


def git(
    *args: str,
    cwd: Path | None = None,
    stdin: str | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    scrub: bool = False,
) -> str:
    """Run one git command and return its stdout (text); the options are `run`'s.

    Raises:
        GitError: when git fails and `check` is set; the message carries git's stderr.
    """
    proc = run(*args, text=True, cwd=cwd, stdin=stdin, env=env, scrub=scrub)
    if check and proc.returncode != 0:
        raise _failure(args, proc.returncode, proc.stderr)
    return proc.stdout


def git_bytes(
    *args: str,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    scrub: bool = False,
) -> bytes:
    """`git`, for output that is not text (objects, NUL-separated paths that need not be UTF-8).

    Raises:
        GitError: when git fails and `check` is set; the message carries git's stderr.
    """
    proc = run(*args, text=False, cwd=cwd, stdin=stdin, env=env, scrub=scrub)
    if check and proc.returncode != 0:
        raise _failure(args, proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout


def subcommand(args: Sequence[str]) -> str:
    """What a message calls a git command: its first word that is not an option."""
    return next((a for a in args if not a.startswith("-")), "")


def _failure(args: Sequence[str], code: int, stderr: str) -> GitError:
    return GitError(f"git {subcommand(args)} failed ({code}): {' '.join(stderr.split())}")


def start(*args: str, cwd: Path, scrub: bool = False) -> subprocess.Popen[bytes]:
    """Start a git that answers many requests over pipes (`cat-file --batch`): its stdin
    and stdout are pipes for the caller to drive, its stderr is dropped.

    Raises:
        OSError: git could not start.
    """
    return subprocess.Popen(
        ["git", *args],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(None, scrub=scrub),
    )


def scrubbed_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment less `GIT_LOCATION_VARS`, plus `extra`.

    Also for processes that are not git but run git themselves (the ingester, dvc, a
    reproduced command): they must find their repository by their folder, as git does.
    """
    env = {k: v for k, v in os.environ.items() if k not in GIT_LOCATION_VARS}
    env.update(extra or {})
    return env


def _env(extra: Mapping[str, str] | None, *, scrub: bool) -> dict[str, str] | None:
    """The environment to start git with; None (inherit it unchanged) when nothing differs."""
    if scrub:
        return scrubbed_env(extra)
    return {**os.environ, **extra} if extra else None


def find_repo(cwd: Path | None = None) -> RepoPaths | None:
    """Locate the repository containing `cwd`, or None outside any work tree."""
    here = Path.cwd() if cwd is None else cwd
    try:
        proc = run("rev-parse", "--show-toplevel", "--git-common-dir", text=True, cwd=here)
    except (FileNotFoundError, NotADirectoryError):
        return None
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) != 2:
        return None
    toplevel = Path(lines[0])
    common = Path(lines[1])
    if not common.is_absolute():
        common = (here / common).resolve()
    return RepoPaths(toplevel=toplevel, common_dir=common)


_PAIR_HEADER = re.compile(r"([0-9a-f]{40,64}) ([0-9a-f]{40,64})\n")


def changed_between(cwd: Path | None, pairs: list[tuple[str, str]]) -> list[set[str] | None]:
    """The paths that differ between each pair of commits or trees; None for a pair
    git cannot resolve (an object this repository does not have).

    Two processes for all pairs, however many: hooks compare a commit with several runs'
    snapshots. Both sides are peeled to trees first: for a pair of commits
    `git diff-tree --stdin` prints only the second commit as a header, which cannot tell
    apart pairs that share it; for trees it prints both.
    """
    if not pairs:
        return []
    trees = peel_trees(cwd, [side for pair in pairs for side in pair])
    tree_pairs = [(trees[a], trees[b]) for a, b in pairs]
    wanted = [(a, b) for a, b in tree_pairs if a is not None and b is not None and a != b]
    found: dict[tuple[str, str], set[str]] = {pair: set() for pair in wanted}
    if wanted:
        out = git(
            "diff-tree", "--stdin", "-r", "--name-only", "--no-renames", "-z",
            cwd=cwd,
            stdin="".join(f"{a} {b}\n" for a, b in dict.fromkeys(wanted)),
        )  # fmt: skip
        current: set[str] | None = None
        for token in out.split("\0"):
            header = _PAIR_HEADER.match(token)
            if header:
                current = found[(header.group(1), header.group(2))]
                token = token[header.end() :]
            if token and current is not None:
                current.add(token)
    return [
        None if a is None or b is None else (set() if a == b else set(found[(a, b)])) for a, b in tree_pairs
    ]


def peel_trees(cwd: Path | None, objects: list[str]) -> dict[str, str | None]:
    """The tree each commit or tree ID names (one `git cat-file --batch-check`); None for
    an ID this repository does not have or that names neither."""
    unique = list(dict.fromkeys(objects))
    if not unique:
        return {}
    out = git(
        "cat-file",
        "--batch-check=%(objectname) %(objecttype)",
        cwd=cwd,
        stdin="".join(f"{o}^{{tree}}\n" for o in unique),
    )
    lines = out.splitlines()
    peeled: dict[str, str | None] = {}
    for name, line in zip(unique, lines, strict=False):
        parts = line.split()
        peeled[name] = parts[0] if len(parts) == 2 and parts[1] == "tree" else None
    for name in unique[len(lines) :]:
        peeled[name] = None
    return peeled


def existing_commits(cwd: Path | None, shas: list[str]) -> set[str]:
    """The commits among `shas` this repository has (one `git cat-file --batch-check`).

    A shared ledger holds runs of other repositories, whose snapshots are not here.
    """
    if not shas:
        return set()
    out = git(
        "cat-file",
        "--batch-check=%(objectname) %(objecttype)",
        cwd=cwd,
        stdin="".join(f"{s}\n" for s in shas),
    )
    return {line.split()[0] for line in out.splitlines() if line.endswith(" commit")}
