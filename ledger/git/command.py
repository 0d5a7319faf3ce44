"""Plain `git` plumbing for paths that must start fast (hooks, `ledger list`).

GitPython costs a noticeable import on every call of a short command; the few
questions asked here (where is the repository, what is HEAD) need one subprocess.
Everything else about git goes through `ledger.git.snapshot`.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import NamedTuple

from ledger.core.errors import GitError

GIT_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR")
"""Variables git exports to hooks; they must not leak into git run elsewhere."""


class RepoPaths(NamedTuple):
    """Where a repository lives: its work tree and the git dir its worktrees share.

    A NamedTuple, not a dataclass: this module is on the git-hook path, where
    importing `dataclasses` (and `inspect` with it) costs milliseconds per commit.
    """

    toplevel: Path
    common_dir: Path


def find_repo(cwd: Path | None = None) -> RepoPaths | None:
    """Locate the repository containing `cwd`, or None outside any work tree."""
    here = Path.cwd() if cwd is None else cwd
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "--git-common-dir"],
            cwd=here,
            capture_output=True,
            text=True,
            check=False,
        )
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


def scrubbed_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment minus git's location variables, for git run in another tree."""
    env = {k: v for k, v in os.environ.items() if k not in GIT_LOCATION_VARS}
    if extra:
        env.update(extra)
    return env


_PAIR_HEADER = re.compile(r"([0-9a-f]{40,64}) ([0-9a-f]{40,64})\n")


def git(*args: str, cwd: Path | None = None, stdin: str | None = None, check: bool = True) -> str:
    """Run one git command and return its stdout (text).

    Raises:
        GitError: when git fails and `check` is set; the message carries git's stderr.
    """
    proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise GitError(f"git {args[0]} failed ({proc.returncode}): {' '.join(proc.stderr.split())}")
    return proc.stdout


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
