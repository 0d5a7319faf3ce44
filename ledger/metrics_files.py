"""Metrics written to files: DVC/DVCLive summaries (JSON/YAML) and DVCLive step series."""

from __future__ import annotations

import csv
from array import array
from typing import TYPE_CHECKING

from ledger.chunks import Points
from ledger.params import flatten, load_document

if TYPE_CHECKING:
    from pathlib import Path

DVCLIVE_PLOTS = "dvclive/plots/metrics"
"""Where DVCLive writes one TSV per metric: `step`, the value, and a timestamp."""


def read_metrics_file(path: Path, *, label: str) -> tuple[dict[str, float], list[str]]:
    """Numeric leaves of a metrics file, flattened; other leaves are reported, not kept."""
    return parse_metrics(label, path.read_bytes())


def parse_metrics(name: str, raw: bytes) -> tuple[dict[str, float], list[str]]:
    """`read_metrics_file` on bytes (a file's content, or a git blob for history)."""
    try:
        data = load_document(name, raw)
    except ValueError as e:
        return {}, [str(e)]
    if data is None and not name.lower().endswith(".json"):
        return {}, []  # an empty YAML file
    if not isinstance(data, dict):
        return {}, [f"{name}: expected a mapping of metrics"]
    values: dict[str, float] = {}
    errors: list[str] = []
    for key, value in flatten(data).items():
        number = _number(value)
        if number is None:
            errors.append(f"{name}: metric {key!r} is not a number ({value!r}); skipped")
        else:
            values[key] = number
    return values, errors


def read_dvclive_series(root: Path, *, since: float | None = None) -> tuple[dict[str, Points], list[str]]:
    """Every DVCLive metric series under `dvclive/plots/metrics` written after `since`."""
    folder = root / DVCLIVE_PLOTS
    series: dict[str, Points] = {}
    errors: list[str] = []
    if not folder.is_dir():
        return series, errors
    for path in sorted(folder.rglob("*.tsv")):
        if since is not None and path.stat().st_mtime < since:
            continue
        key = path.relative_to(folder).with_suffix("").as_posix()
        try:
            series[key] = _read_tsv(path, key.rsplit("/", 1)[-1])
        except (ValueError, KeyError, UnicodeDecodeError) as e:
            errors.append(f"{path.relative_to(root).as_posix()}: unreadable series ({e}); skipped")
    return series, errors


def _read_tsv(path: Path, name: str) -> Points:
    points = Points(array("q"), array("q"), array("d"))
    with path.open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            points.steps.append(int(row["step"]))
            points.values.append(float(row[name]))
            stamp = row.get("timestamp")
            points.times_ms.append(int(float(stamp)) if stamp else 0)
    return points


def _number(value: object) -> float | None:
    """Numbers, and strings float() reads (`"nan"`, `"inf"`); booleans are not metrics."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
