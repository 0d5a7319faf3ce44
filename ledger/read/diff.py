"""Compare two or more runs: params, metrics, data, environment and code.

One model for `ledger diff` and the TUI's diff screen: both render a `RunsDiff`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.core.comparable import aligned, comparable_value
from ledger.core.lockfile import EnvDiff, diff_environments
from ledger.git.command import existing_commits, git
from ledger.read import queries

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from ledger.core.ids import RunId
    from ledger.core.param_values import ParamValue
    from ledger.core.records import RunDetail
    from ledger.store.engine import Store


@dataclass(frozen=True, slots=True)
class Row:
    """One key across the runs: a value per run (None where the run lacks it)."""

    key: str
    values: tuple[ParamValue | None, ...]
    compared: tuple[ParamValue | None, ...] = ()
    """The values as they are compared, where a run's own folder is in one of them
    (`ledger.core.comparable`); empty when they are `values`."""

    @property
    def changed(self) -> bool:
        """Whether any run's value differs from the first run's (NaN equals NaN)."""
        first, *others = self.compared or self.values
        return any(not _same(first, v) for v in others)

    @property
    def deltas(self) -> tuple[float | None, ...]:
        """Each run's numeric difference from the first run (None where not numeric)."""
        first = self.values[0]
        return tuple(
            v - first if _is_number(v) and _is_number(first) else None  # type: ignore[operator]
            for v in self.values
        )


@dataclass(frozen=True, slots=True)
class CodeDiff:
    """How the code snapshot of a run differs from the first run's."""

    base: str
    other: str
    files: tuple[tuple[str, int, int], ...]
    """(path, lines added, lines deleted); -1 for binary files."""
    patch: str | None
    """The unified diff, when asked for."""


@dataclass(frozen=True, slots=True)
class RunsDiff:
    """Everything that differs between runs, the first run being the baseline."""

    runs: tuple[RunDetail, ...]
    params: tuple[Row, ...]
    metrics: tuple[Row, ...]
    data: tuple[Row, ...]
    """DVC paths, valued by their hash."""
    environments: tuple[EnvDiff | None, ...]
    """Per run after the first: its drift from the first run's environment."""
    code: tuple[CodeDiff | None, ...]
    """Per run after the first: its code against the first run's (None if unknown)."""
    series: tuple[str, ...]
    """Metric series every run has, for overlaid curves."""


def diff_runs(store: Store, run_ids: Sequence[RunId], *, root: Path | None, patch: bool = False) -> RunsDiff:
    """Build the comparison; `root` is the repository holding the snapshots (for code)."""
    details = tuple(queries.get_run(store, r) for r in run_ids)
    envs = [
        None if d.environment_digest is None else queries.get_environment(store, d.environment_digest)
        for d in details
    ]
    base_env = envs[0]
    environments = tuple(
        None if base_env is None or env is None else diff_environments(base_env, env) for env in envs[1:]
    )
    code: tuple[CodeDiff | None, ...] = tuple(_code(root, details[0], d, patch=patch) for d in details[1:])
    common = set(details[0].series_keys).intersection(*(d.series_keys for d in details[1:]))
    return RunsDiff(
        runs=details,
        params=_param_rows(details),
        metrics=_metric_rows(details),
        data=_rows([{i.path: i.value for i in d.data} for d in details]),
        environments=environments,
        code=code,
        series=tuple(sorted(common)),
    )


def _rows(per_run: list[dict[str, ParamValue]]) -> tuple[Row, ...]:
    keys = sorted(set().union(*per_run))
    return tuple(Row(key, tuple(values.get(key) for values in per_run)) for key in keys)


def _param_rows(details: Sequence[RunDetail]) -> tuple[Row, ...]:
    """Params by key; values that differ as written are compared by their place in their
    run's own folder. Values written alike stay alike: a fixed folder (`results/`) one run
    made and another found is no run's own."""
    rows = _rows([{p.key: p.value for p in d.params} for d in details])
    found = []
    for row in rows:
        if not row.changed:
            found.append(row)
            continue
        compared = tuple(
            None if v is None else comparable_value(v, d.run_folders)
            for v, d in zip(row.values, details, strict=True)
        )
        found.append(Row(row.key, row.values, compared) if compared != row.values else row)
    return tuple(found)


def _metric_rows(details: Sequence[RunDetail]) -> tuple[Row, ...]:
    """Metrics by key; a key some run lacks as written (named by a file in the run's own
    folder: `logs/train/runs/<time>/csv/version_0/metrics.csv:val/acc`) by its place there."""
    written: list[tuple[Mapping[str, ParamValue], Sequence[str]]] = [
        ({m.key: m.value for m in d.metrics}, d.run_folders) for d in details
    ]
    return _rows(aligned(written))


def _code(root: Path | None, base: RunDetail, other: RunDetail, *, patch: bool) -> CodeDiff | None:
    a, b = base.snapshot, other.snapshot
    if root is None or a is None or b is None or existing_commits(root, [a, b]) != {a, b}:
        return None
    files = []
    for line in git("diff", "--numstat", "--no-renames", a, b, cwd=root).splitlines():
        added, deleted, path = line.split("\t", 2)
        files.append((path, -1 if added == "-" else int(added), -1 if deleted == "-" else int(deleted)))
    text = git("diff", "--no-color", a, b, cwd=root) if patch else None
    return CodeDiff(base=a, other=b, files=tuple(files), patch=text)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)
