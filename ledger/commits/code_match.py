"""Whether a commit holds a run's code: the one decision behind links, trailers and checks.

A commit holds a run when the run's code snapshot differs from the commit only in files
the run itself wrote (its metrics, outputs, logs). The post-commit link, the
prepare-commit-msg trailer and the pre-commit results check all ask this question; they
must get the same answer, so they all ask it here.

On the git-hook path: stdlib and `ledger.git.command` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ledger.git.command import changed_between

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from pathlib import Path


class RunCode(NamedTuple):
    """A run as the decision sees it: its code snapshot and the files it wrote.

    A NamedTuple, not a dataclass: importing `dataclasses` costs every commit milliseconds.
    """

    code: str
    """The run's snapshot: a commit or a tree ID."""
    written: Collection[str]
    """Paths (from the repository root) of the files the run wrote."""


UNKNOWN = frozenset({"<snapshot missing from this repository>"})
"""What `foreign_changes` reports for a run whose snapshot git does not have."""


def foreign_changes(cwd: Path | None, target: str, runs: Sequence[RunCode]) -> list[frozenset[str]]:
    """For each run, the paths where `target` (a commit or tree) differs from its code,
    leaving out the files the run wrote; empty when `target` holds the run's code."""
    return _foreign(cwd, [(run, target) for run in runs])


def holding(cwd: Path | None, target: str, runs: Sequence[RunCode]) -> list[bool]:
    """Which of `runs` the commit or tree `target` holds."""
    return held(cwd, [(run, target) for run in runs])


def held(cwd: Path | None, pairs: Sequence[tuple[RunCode, str]]) -> list[bool]:
    """For each (run, commit or tree), whether it holds the run's code; all pairs are
    compared in one batch, however many commits they name."""
    return [not changed for changed in _foreign(cwd, pairs)]


def _foreign(cwd: Path | None, pairs: Sequence[tuple[RunCode, str]]) -> list[frozenset[str]]:
    diffs = changed_between(cwd, [(run.code, target) for run, target in pairs])
    return [
        UNKNOWN if diff is None else frozenset(diff - set(run.written))
        for (run, _), diff in zip(pairs, diffs, strict=True)
    ]
