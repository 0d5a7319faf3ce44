"""Find the files a run wrote that the `outputs` patterns name, and the folder it made.

Patterns match as `.gitignore` patterns do, because that is how people already
describe build products: `*.ckpt` matches at any depth, `checkpoints/` names a
folder anywhere (everything in it matches), a pattern with a slash in it is
anchored at the repository root, `**` spans folders, and `!pattern` takes back
what an earlier one matched (the last match wins; a folder taken back is not walked).

The walk never enters git's, DVC's or other tools' private folders, nor virtual
environments, and stops after `WALK_LIMIT` entries: a run's exit must not wait on
a stat of every image of a dataset. It stats only what it must: the folders, the
files a pattern names, and the files of folders changed during the run.
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.git.batch import glob_regex

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path
    from re import Pattern

WALK_LIMIT = 100_000
"""Folder entries looked at before the walk gives up (and says so in the record)."""

PRUNED = frozenset(
    {
        ".git",
        ".dvc",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        "site-packages",
    }
)
"""Folder names never walked: version control, caches, installed packages."""

_ENV_MARKERS = frozenset({"pyvenv.cfg", "conda-meta"})
"""A folder holding one of these is a Python environment, whatever its name."""


@dataclass(frozen=True, slots=True)
class _Pattern:
    regex: Pattern[str]
    negated: bool
    folders_only: bool


@dataclass(slots=True)
class _Folder:
    path: str
    parent: str | None
    changed: bool
    """Modified during the run: entries were added or removed since it started."""
    files: int = 0
    written: int = 0
    complete: bool = True
    """Every entry was looked at (the walk was not cut short inside it)."""
    children: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OutputScan:
    """What the walk found."""

    files: list[str]
    """Files the patterns name that the run wrote (repo-relative, `/`-separated)."""
    folders: list[str]
    """Folders the run made and filled: nothing in them is older than the run."""
    problems: list[str]
    logs: dict[str, float] = field(default_factory=dict)
    """Files the `logs` patterns name, whenever written, with their modification times."""


def _compile_patterns(patterns: Iterable[str]) -> list[_Pattern]:
    """Turn `.gitignore`-style patterns into matchers of repo-relative paths."""
    compiled = []
    for raw in patterns:
        text = raw.strip()
        negated = text.startswith("!")
        text = text.removeprefix("!")
        folders_only = text.endswith("/")
        text = text.strip("/") if folders_only else text
        if not text:
            continue
        # git's rule: a slash anywhere but at the end anchors the pattern at the root.
        text = text.removeprefix("/") if "/" in text else f"**/{text}"
        compiled.append(_Pattern(glob_regex((text,)), negated, folders_only))
    return compiled


def scan_outputs(
    root: Path,
    patterns: Sequence[str],
    since: float,
    *,
    skip: Iterable[str] = (),
    limit: int = WALK_LIMIT,
    logs: Sequence[str] = (),
) -> OutputScan:
    """Walk the work tree for files named by `patterns` written at or after `since`.

    Args:
        skip: repo-relative folders not to enter (data DVC already hashes).
        limit: entries to look at before giving up.
        logs: patterns of framework log files (`ledger.capture.framework_logs`), found in the
            same walk and listed whatever their age.
    """
    matchers = _compile_patterns(patterns)
    log_matchers = _compile_patterns(logs)
    any_log = re.compile("|".join(f"(?:{m.regex.pattern})" for m in log_matchers) or "(?!)")
    found_logs: dict[str, float] = {}
    # One regex for "could any pattern name this?": most entries are named by none.
    anything = re.compile("|".join(f"(?:{m.regex.pattern})" for m in matchers) or "(?!)")
    top = str(root)
    skipped = {s.strip("/") for s in skip}
    folders: dict[str, _Folder] = {"": _Folder("", None, changed=False)}
    # (folder path, index of the last pattern that matched it or a parent, or -1)
    queue: deque[tuple[str, int]] = deque([("", -1)])
    found: list[str] = []
    seen = 0
    problems: list[str] = []
    while queue:
        rel, inherited = queue.popleft()
        folder = folders[rel]
        try:
            with os.scandir(f"{top}/{rel}" if rel else top) as it:
                entries = list(it)
        except OSError:
            folder.complete = False
            continue
        if rel and not _ENV_MARKERS.isdisjoint(e.name for e in entries):
            folders[folder.parent or ""].children.remove(rel)  # a virtualenv, whatever its name
            continue
        seen += len(entries)
        if seen > limit:
            problems.append(
                f"outputs: stopped looking after {limit} files and folders; "
                "leave big folders out with `!folder/` in the `outputs` setting"
            )
            _mark_incomplete(folders, rel)
            for pending, _ in queue:
                _mark_incomplete(folders, pending)
            break
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    if entry.name in PRUNED or path in skipped:
                        continue
                    last = inherited
                    if anything.fullmatch(path):
                        last = _last_match(matchers, path, inherited, folder=True)
                    if last >= 0 and matchers[last].negated:
                        continue  # `!data/`: as in .gitignore, nothing inside can match again
                    changed = entry.stat().st_mtime >= since
                    folders[path] = _Folder(path, rel, changed=changed)
                    folder.children.append(path)
                    queue.append((path, last))
                    continue
                if not entry.is_file():
                    continue
                folder.files += 1
                if any_log.fullmatch(path) and _is_named(log_matchers, path, -1):
                    found_logs[path] = entry.stat().st_mtime
                named = (inherited >= 0 or anything.fullmatch(path) is not None) and _is_named(
                    matchers, path, inherited
                )
                if not (named or folder.changed):
                    continue
                written = entry.stat().st_mtime >= since
            except OSError:
                folder.complete = False
                continue
            folder.written += written
            if named and written:
                found.append(path)
    return OutputScan(sorted(found), _made_folders(folders), problems, found_logs)


def _last_match(matchers: Sequence[_Pattern], path: str, inherited: int, *, folder: bool) -> int:
    """Index of the last pattern that names `path` or one of its folders."""
    last = inherited
    for k in range(len(matchers) - 1, inherited, -1):
        m = matchers[k]
        if (folder or not m.folders_only) and m.regex.fullmatch(path):
            return k
    return last


def _is_named(matchers: Sequence[_Pattern], path: str, inherited: int) -> bool:
    k = _last_match(matchers, path, inherited, folder=False)
    return k >= 0 and not matchers[k].negated


def _mark_incomplete(folders: dict[str, _Folder], path: str | None) -> None:
    while path is not None:
        folders[path].complete = False
        path = folders[path].parent


def _made_folders(folders: dict[str, _Folder]) -> list[str]:
    """The topmost folders holding only what the run wrote, each narrowed down a chain
    of single subfolders (`lightning_logs/` -> `lightning_logs/version_0/`)."""
    fresh: dict[str, bool] = {}
    for path in reversed(folders):  # breadth-first order reversed: children first
        f = folders[path]
        fresh[path] = (
            f.changed
            and f.complete
            and f.written == f.files
            and all(fresh[c] for c in f.children)
            and (f.files > 0 or bool(f.children))
        )
    made = []
    for path, f in folders.items():
        if not path or not fresh[path] or (f.parent and fresh[f.parent]):
            continue
        while not folders[path].files and len(folders[path].children) == 1:
            path = folders[path].children[0]
        made.append(path)
    return sorted(made)
