"""Files a run read that neither git nor DVC keeps: what a reproduction cannot restore by itself.

A preprocessing step writes `data/processed/*.pt`, `.gitignore` hides it, DVC does not
track it: a reproduction's worktree lacks it, and the script crashes halfway. The run's
Python processes note the files under the repository they open for reading
(`ledger.capture.child.sitecustomize`); of those, the ones git ignores, that no DVC output
covers and that the run did not write are recorded with their hash, so a reproduction
can copy them back from the workspace when they are unchanged, or name them before
anything runs.
"""

from __future__ import annotations

from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING

from ledger.core.errors import CaptureError
from ledger.dvc import match as dvc_match
from ledger.git.command import git

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ledger.core.records import OutputFile

MAX_INPUTS = 1000
"""Ignored inputs recorded per run (a folder of many small files is named by its first ones)."""


def find_ignored_inputs(
    root: Path,
    reads: Iterable[str],
    *,
    skip: Iterable[str],
    started_at: float,
    complete: bool,
) -> tuple[list[OutputFile], list[str]]:
    """The recorded inputs and the problems met (a line each).

    `reads`: absolute paths the run opened for reading; `skip`: repo-relative paths and
    folders the record holds otherwise (DVC data, the run's outputs); `complete`: False
    when the run read more files than were noted.
    """
    covered = tuple(p.rstrip("/") for p in skip)
    candidates = []
    for full in reads:
        path = _relative(root, full)
        if path is None or any(path == c or path.startswith(f"{c}/") for c in covered):
            continue
        try:
            stat = (root / path).stat()
        except OSError:
            continue  # a temporary file the run removed
        if stat.st_mtime < started_at and S_ISREG(stat.st_mode):
            candidates.append(path)
    if not candidates:
        return [], []
    listed = git("check-ignore", "-z", "--stdin", cwd=root, stdin="\0".join(candidates) + "\0", check=False)
    ignored = [p for p in listed.split("\0") if p]
    problems = []
    if len(ignored) > MAX_INPUTS:
        problems.append(
            f"the run read {len(ignored)} git-ignored files; the first {MAX_INPUTS} are recorded: "
            "track such a data set with DVC to make it reproducible"
        )
    if not complete:
        problems.append(
            "the run opened more files under the repository than are noted per process: "
            "git-ignored inputs among the rest are not recorded"
        )
    inputs = []
    for path in ignored[:MAX_INPUTS]:
        try:
            inputs.append(dvc_match.file_record(root, path))
        except (OSError, CaptureError) as e:
            problems.append(f"ignored input {path} could not be hashed: {e}")
    return inputs, problems


def workspace_state(root: Path, recorded: OutputFile) -> str:
    """`unchanged`, `changed`, `missing`, or `unverified` (too big to have been hashed)."""
    full = root / recorded.path
    if not full.is_file():
        return "missing"
    if recorded.value is None:
        return "unverified"
    try:
        same = dvc_match.file_record(root, recorded.path).value == recorded.value
    except (OSError, CaptureError):
        return "missing"
    return "unchanged" if same else "changed"


def describe(inputs: Sequence[OutputFile], states: dict[str, str]) -> list[str]:
    """One line per input, as the reproduce plan prints them."""
    words = {
        "unchanged": "copied from the workspace (unchanged since the run)",
        "unverified": "copied from the workspace (too big to have been hashed: not verified)",
        "changed": "CHANGED in the workspace since the run: cannot be restored",
        "missing": "MISSING from the workspace: cannot be restored",
    }
    return [f"{i.path} (git-ignored, not in DVC): {words[states[i.path]]}" for i in inputs]


def _relative(root: Path, full: str) -> str | None:
    try:
        path = Path(full).relative_to(root)
    except ValueError:
        return None
    text = path.as_posix()
    return None if text.startswith(".git/") or text == "." else text
