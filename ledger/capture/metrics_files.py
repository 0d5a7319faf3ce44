"""Metrics written to files: DVC/DVCLive summaries (JSON/YAML) and DVCLive step series."""

from __future__ import annotations

import csv
import posixpath
from array import array
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ledger.capture.params import flatten, load_document
from ledger.core.chunks import Points

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

DVCLIVE_DIR = "dvclive"
"""DVCLive's folder when the script names none."""
DVCLIVE_PLOTS_IN_DIR = "plots/metrics"
"""Where in its folder DVCLive writes one TSV per metric: `step`, the value, a timestamp."""


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
        number = as_number(value)
        if number is None:
            errors.append(f"{name}: metric {key!r} is not a number ({value!r}); skipped")
        else:
            values[key] = number
    return values, errors


TABLE_SUFFIXES = (".json", ".yaml", ".yml", ".csv", ".tsv")
"""Plots files that hold tables; DVC also plots images, which hold no series."""


def shown_keys(origins: Mapping[str, Iterable[str]]) -> dict[tuple[str, str], str]:
    """The key each (origin file, key) is recorded under.

    A key only one file holds keeps its name; a key several files hold is qualified by
    its file, `results/evaluate/metrics.json:dice`, as `dvc exp show` names it, so that
    no value overwrites another.
    """
    holders: dict[str, set[str]] = {}
    for origin, keys in origins.items():
        for key in keys:
            holders.setdefault(key, set()).add(origin)
    return {
        (origin, key): key if len(holders[key]) == 1 else f"{origin}:{key}"
        for origin, keys in origins.items()
        for key in keys
    }


def dvclive_dirs(metrics_files: Iterable[str], plots: Iterable[str], written: Iterable[str]) -> list[str]:
    """Folders DVCLive may have written: its default, and wherever the project points it.

    DVCLive (`Live(dir=...)`) writes `<dir>/metrics.json` and `<dir>/plots/metrics/*.tsv`;
    `dvc.yaml` names one or the other, and a folder git does not ignore shows in the files
    the run wrote.
    """
    found = {DVCLIVE_DIR}
    found.update(
        posixpath.dirname(name) for name in metrics_files if posixpath.basename(name) == "metrics.json"
    )
    for name in (*plots, *written):
        head, marker, _ = f"/{name}/".partition(f"/{DVCLIVE_PLOTS_IN_DIR}/")
        if marker:
            found.add(head.strip("/"))
    return sorted(found)


def read_dvclive_series(
    root: Path, folders: Iterable[str], *, since: float | None = None, until: float | None = None
) -> tuple[dict[str, dict[str, Points]], list[str]]:
    """Every DVCLive series written after `since` (and last by `until`), by the summary
    file it goes with.

    A series is keyed by `<dir>/metrics.json`, the file DVCLive writes its final values
    to, so that a series and its final value get the same shown key.
    """
    found: dict[str, dict[str, Points]] = {}
    errors: list[str] = []
    for name in folders:
        folder = root / name / DVCLIVE_PLOTS_IN_DIR
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.tsv")):
            if not _between(path.stat().st_mtime, since, until):
                continue
            key = path.relative_to(folder).with_suffix("").as_posix()
            try:
                points = _read_tsv(path, key.rsplit("/", 1)[-1])
            except (ValueError, KeyError, UnicodeDecodeError) as e:
                errors.append(f"{path.relative_to(root).as_posix()}: unreadable series ({e}); skipped")
                continue
            found.setdefault(posixpath.join(name, "metrics.json"), {})[key] = points
    return found, errors


def read_plot_series(
    root: Path, plots: Iterable[str], *, since: float | None = None, until: float | None = None
) -> tuple[dict[str, dict[str, Points]], list[str]]:
    """Step series in the plots files `dvc.yaml` declares, by file.

    A plots file is a table (JSON or YAML records, CSV, TSV); each numeric column
    becomes a series over its `step` or `epoch` column, and a one-column table a series
    over its row number. Other tables (recall against threshold, a confusion matrix)
    are curves, not training series: they are left to the outputs. DVCLive's own folders are read by `read_dvclive_series`.
    """
    found: dict[str, dict[str, Points]] = {}
    errors: list[str] = []
    for name in plots:
        path = root / name
        if PurePosixPath(name).suffix.lower() not in TABLE_SUFFIXES or not path.is_file():
            continue  # an image, or a folder (DVCLive's are read by `read_dvclive_series`)
        try:
            if not _between(path.stat().st_mtime, since, until):
                continue
            rows = _table(name, path.read_bytes())
        except (OSError, ValueError, UnicodeDecodeError) as e:
            errors.append(f"{name}: unreadable plots file ({' '.join(str(e).split())}); skipped")
            continue
        columns = _step_series(rows)
        if columns:
            found[name] = columns
    return found, errors


def _between(mtime: float, since: float | None, until: float | None) -> bool:
    """A file written during the run: not before it started, not after it ended."""
    return (since is None or mtime >= since) and (until is None or mtime <= until)


def _table(name: str, raw: bytes) -> list[dict[str, object]]:
    """The rows of a plots file, in any shape DVC plots accept."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in (".csv", ".tsv"):
        text = raw.decode()
        return list(csv.DictReader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ","))
    data = load_document(name, raw)
    if isinstance(data, dict) and len(data) == 1:
        data = next(iter(data.values()))  # DVC's `{"train": [...]}` form
    if not isinstance(data, list):
        raise ValueError("expected a list of rows")
    return [row for row in data if isinstance(row, dict)]


def _step_series(rows: list[dict[str, object]]) -> dict[str, Points]:
    if not rows:
        return {}
    axis = next((k for k in ("step", "epoch") if k in rows[0]), None)
    if axis is None and len(rows[0]) > 1:
        return {}  # columns plotted against each other (recall against threshold): a curve
    steps: list[int] = []
    for i, row in enumerate(rows):
        value = as_number(row.get(axis)) if axis is not None else float(i)
        if value is None or not value.is_integer() or (steps and value < steps[-1]):
            return {}
        steps.append(int(value))
    columns: dict[str, Points] = {}
    for key in rows[0]:
        if key in (axis, "timestamp"):
            continue
        values = [as_number(row.get(key)) for row in rows]
        numbers = [v for v in values if v is not None]
        if len(numbers) == len(values):
            columns[str(key)] = Points(array("q", steps), array("q", [0] * len(steps)), array("d", numbers))
    return columns


def _read_tsv(path: Path, name: str) -> Points:
    points = Points(array("q"), array("q"), array("d"))
    with path.open(newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            points.steps.append(int(row["step"]))
            points.values.append(float(row[name]))
            stamp = row.get("timestamp")
            points.times_ms.append(int(float(stamp)) if stamp else 0)
    return points


def as_number(value: object) -> float | None:
    """Numbers, and strings float() reads (`"nan"`, `"inf"`); booleans are not metrics."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except (ValueError, OverflowError):  # an integer past a float's range is not a metric either
        return None
    return None
