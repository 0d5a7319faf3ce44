"""Logs kept as rows (CSV loggers, the Trainer's `log_history`): step series, and which
rows are this run's.

A run that resumes into a folder an earlier run wrote finds that run's rows still at
the top of the file: Lightning's CSV logger and Keras' `CSVLogger(append=True)` append
to it (Lightning rewrites it whole when a column is new, keeping the old rows), and
the Trainer carries the `log_history` of the checkpoint it resumed from. So the rows a
file held when the run started are copied then (its bytes: parsed only if the run
changes the file), and the rows that still open the file at the end are the earlier
run's (`own_rows`); a row is compared by its non-empty cells, so a column Lightning
adds to the header does not make an old row new.
"""

from __future__ import annotations

import csv
import json
from array import array
from typing import TYPE_CHECKING

from ledger.capture.metrics_files import as_number
from ledger.core.chunks import Points

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

Row = dict[str, object]

AXES = ("step", "epoch")
"""Columns that say when a row was logged; the first present is the series' step."""


def parse_csv_rows(raw: bytes) -> list[Row]:
    """A CSV logger's rows, any line endings, empty cells left out; none when the header
    has no `step` or `epoch` column (another program's table, or a text log)."""
    header = raw.split(b"\n", 1)[0].decode("utf-8-sig")
    if not set(AXES) & {cell.strip() for cell in header.split(",")}:
        return []
    reader = csv.DictReader(raw.decode("utf-8-sig").splitlines())
    return [{k: v for k, v in row.items() if k and v not in (None, "")} for row in reader]


def parse_log_history(raw: bytes) -> list[Row]:
    """The Trainer's `log_history` in `trainer_state.json`."""
    data = json.loads(raw)
    history = data.get("log_history") if isinstance(data, dict) else None
    if not isinstance(history, list):
        raise ValueError("no log_history list")
    return [row for row in history if isinstance(row, dict)]


def row_marks(rows: Iterable[Row]) -> list[int]:
    """What identifies each row, to recognise it in another copy of the file."""
    return [hash(repr(sorted(row.items()))) for row in rows]


def own_rows(rows: Sequence[Row], earlier: Iterable[Sequence[Row]]) -> Sequence[Row]:
    """The rows after the longest run of rows that opened one of the `earlier` copies.

    A file whose rows all match is one the run wrote again with the same rows (a
    deterministic run started over in the same folder): they are all its own.
    """
    copies = [row_marks(old) for old in earlier if old]
    if not copies:
        return rows
    marks = row_marks(rows)
    skip = 0
    for old in copies:
        n = 0
        for a, b in zip(marks, old, strict=False):
            if a != b:
                break
            n += 1
        skip = max(skip, n)
    return rows if skip == len(rows) else rows[skip:]


def step_series(rows: Iterable[Row], *, skip: Iterable[str] = AXES) -> dict[str, Points]:
    """A series per numeric column over the row's `step` (else `epoch`) column.

    Rows mix columns (Lightning writes training and validation rows with the other's
    cells empty), so each series has the steps where its column has a number. Rows
    without a whole-number step are left out; so are the axes themselves.
    """
    left_out = set(skip)
    found: dict[str, Points] = {}
    for row in rows:
        axis = next((as_number(row[a]) for a in AXES if a in row), None)
        if axis is None or not axis.is_integer():
            continue
        step = int(axis)
        for key, cell in row.items():
            if key in left_out:
                continue
            value = as_number(cell)
            if value is None:
                continue
            points = found.get(key)
            if points is None:
                points = found[key] = Points(array("q"), array("q"), array("d"))
            points.steps.append(step)
            points.times_ms.append(0)
            points.values.append(value)
    return found
