"""Metrics and series from the logs training frameworks already write.

Read after a run, from the files it wrote that the `framework_logs` setting names
(found by the same walk as the outputs, `ledger.capture.outputs`): Lightning's and
Keras' CSV loggers, the Hugging Face `Trainer`'s `trainer_state.json` and
`*_results.json`, and TensorBoard event files. Per-step values become series (their
last values the run's metrics), final values metrics; each keeps the file it came
from. Nothing here imports a framework: the formats are read with the standard library.

What is this run's in a folder an earlier run wrote: TensorBoard events carry a wall
time, and only those logged since the run started count; row logs count the rows
after those the files held at the start (`ledger.capture.framework_logs.rows`).
"""

from __future__ import annotations

import posixpath
import re
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.capture.framework_logs import rows as row_logs
from ledger.capture.framework_logs.tfevents import read_event_scalars
from ledger.capture.metrics_files import read_metrics_file
from ledger.core.chunks import Points

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from pathlib import Path


TRAINER_STATE = "trainer_state.json"
RESULTS = ("all_results.json", "eval_results.json", "train_results.json")
"""The Trainer's final values; `all_results.json` holds the other two's together."""
_CHECKPOINT = re.compile(r"checkpoint-(\d+)")
HP_METRIC = "hp_metric"
COPIED_FILES = 20
"""Row logs copied when a run starts: the most recently written."""
COPY_MAX_BYTES = 64 * 1024 * 1024
"""A bigger row log is not copied (a run resuming into it is credited with all its rows)."""


@dataclass(frozen=True, slots=True)
class FrameworkLogs:
    """What the logs held, by the file each part came from."""

    values: dict[str, dict[str, float]] = field(default_factory=dict)
    """Final values (the Trainer's results files)."""
    series: dict[str, dict[str, Points]] = field(default_factory=dict)
    same: dict[str, str] = field(default_factory=dict)
    """Series files whose keys are one metric with those of a values file (a Trainer's
    `log_history` and its results), so that they are named alike."""
    problems: list[str] = field(default_factory=list)


def copy_row_logs(root: Path, found: Mapping[str, float]) -> dict[str, bytes]:
    """The bytes of the newest row logs before a run (unreadable or big ones: none).

    `found` maps each log file to its modification time. Only the `COPIED_FILES`
    newest are read: a run resumes into the latest folders, and the start of a run
    must not read every log that years of runs left behind. The copies are parsed only
    for the files the run then changes.
    """
    names = sorted((n for n in found if _row_parser(n) is not None), key=found.__getitem__, reverse=True)
    copies = {}
    for name in names[:COPIED_FILES]:
        try:
            if (root / name).stat().st_size <= COPY_MAX_BYTES:
                copies[name] = (root / name).read_bytes()
        except OSError:
            continue
    return copies


def read_framework_logs(
    root: Path, written: Sequence[str], *, since: float, copies: Mapping[str, bytes]
) -> FrameworkLogs:
    """Read the log files a run wrote (repo-relative names), leaving out what is older
    than the run: events before `since`, rows the files held at the start (`copies`)."""
    found = FrameworkLogs()
    states = _newest_states(n for n in written if posixpath.basename(n) == TRAINER_STATE)
    results = _results(n for n in written if posixpath.basename(n) in RESULTS)
    for name in written:
        base = posixpath.basename(name)
        try:
            if _is_events(name):
                series, problems = read_event_scalars(root / name, since=since)
                found.problems.extend(f"{name}: {p}" for p in problems)
                _drop_placeholder(series)
                for axis in row_logs.AXES:
                    series.pop(axis, None)  # Lightning's `epoch` scalar: an index, as in its CSV
            elif base == TRAINER_STATE:
                if name not in states.values():
                    continue  # an older checkpoint's copy of the same history
                folder = _trainer_folder(name)
                earlier = [
                    copy
                    for other, copy in copies.items()
                    if posixpath.basename(other) == TRAINER_STATE and _trainer_folder(other) == folder
                ]
                rows = row_logs.own_rows(
                    row_logs.parse_log_history((root / name).read_bytes()), _parsed(earlier, name)
                )
                series = row_logs.step_series(rows)
                if folder in results:
                    found.same[name] = results[folder][0]
            elif base in RESULTS or name.endswith(".json"):
                if base in RESULTS and name not in results.get(posixpath.dirname(name), ()):
                    continue  # `all_results.json` beside it holds the same values
                found.values[name], problems = read_metrics_file(root / name, label=name)
                found.problems.extend(problems)
                continue
            else:
                table = row_logs.parse_csv_rows((root / name).read_bytes())
                earlier = [copies[name]] if name in copies else []
                series = row_logs.step_series(row_logs.own_rows(table, _parsed(earlier, name)))
        except (OSError, ValueError, UnicodeDecodeError) as e:
            found.problems.append(f"{name}: unreadable log ({' '.join(str(e).split())}); skipped")
            continue
        if series:
            found.series[name] = series
    _drop_copies(found.series)
    _drop_trainer_copies(found.series, states)
    _join_event_folders(found.series)
    return found


def epoch_tables(root: Path, written: Iterable[str]) -> list[str]:
    """The CSV files the run wrote that Keras's `CSVLogger` wrote, whatever their name
    (it has no default: `CSVLogger("../log.csv")`): the header starts with `epoch`."""
    found = []
    for name in written:
        if not name.endswith(".csv"):
            continue
        try:
            with (root / name).open("rb") as f:
                head = f.read(64)
        except OSError:
            continue
        if head.startswith((b"epoch,", b"epoch;", b"epoch\t")):
            found.append(name)
    return found


def _drop_copies(series: dict[str, dict[str, Points]]) -> None:
    """Keep one of the series two loggers wrote of the same metric (Lightning with both
    its CSV and TensorBoard loggers): same key, same steps, the same values to float32
    precision (TensorBoard stores float32). The CSV's is kept: it has full precision.
    Series that differ stay, and are named by their files (`ledger.capture.metrics_files.shown_keys`)."""
    holders: dict[str, list[str]] = {}
    for name in sorted(series, key=lambda n: (_is_events(n), n)):
        for key in series[name]:
            holders.setdefault(key, []).append(name)
    for key, names in holders.items():
        kept = [series[names[0]][key]]
        for name in names[1:]:
            # Each job of a multirun logs the key to files of its own: any kept one may be the original.
            if any(_same_points(points, series[name][key]) for points in kept):
                del series[name][key]
                if not series[name]:
                    del series[name]
            else:
                kept.append(series[name][key])


def _drop_trainer_copies(series: dict[str, dict[str, Points]], states: Mapping[str, str]) -> None:
    """Keep the Trainer's own names for what its TensorBoard callback copied: it logs
    each `log_history` entry again as a scalar, renamed (`eval_loss` as `eval/loss`,
    `test_x` as `test/x`, others as `train/x`). A copy is dropped when it has the same
    steps and values as the Trainer's series; a tag the Trainer has no series for, or
    one with other values, stays. Only event files inside the folder that holds the
    Trainer's output folder are compared (its default `logging_dir` is `<output>/runs/`,
    and scripts often put it beside: `./results` and `./logs`)."""
    for folder, state in states.items():
        trainer = series.get(state)
        if not trainer:
            continue
        around = posixpath.dirname(folder)
        for name in [n for n in series if _is_events(n) and (not around or n.startswith(f"{around}/"))]:
            for tag, points in list(series[name].items()):
                key = _trainer_key(tag)
                if key in trainer and _same_points(trainer[key], points):
                    del series[name][tag]
            if not series[name]:
                del series[name]


def _join_event_folders(series: dict[str, dict[str, Points]]) -> None:
    """One series for a tag several event files of one folder hold, named by the folder,
    as TensorBoard shows a folder's files as one run (Lightning writes a file for fit and
    another for test, a resumed run adds one): named by its file, each part's key would
    carry the file's time, host and process, and never line up with another run's."""
    by_folder: dict[str, list[str]] = {}
    for name in sorted((n for n in series if _is_events(n)), key=_event_order):
        by_folder.setdefault(posixpath.dirname(name) or ".", []).append(name)
    for folder, names in by_folder.items():
        shared = Counter(tag for name in names for tag in series[name])
        for tag in sorted(tag for tag, n in shared.items() if n > 1):
            joined = Points(array("q"), array("q"), array("d"))
            for name in names:
                part = series[name].pop(tag, None)
                if part is not None:
                    joined.steps.extend(part.steps)
                    joined.times_ms.extend(part.times_ms)
                    joined.values.extend(part.values)
            series.setdefault(folder, {})[tag] = joined
        for name in names:
            if not series[name]:
                del series[name]


def _event_order(name: str) -> tuple[int, str]:
    """Event files by the time in their name (`events.out.tfevents.<time>.<host>...`)."""
    stamp = posixpath.basename(name).split(".")[3:4]
    return (int(stamp[0]) if stamp and stamp[0].isdigit() else 0, name)


def _trainer_key(tag: str) -> str:
    """The `log_history` key a tag of transformers' TensorBoard callback stands for."""
    group, slash, key = tag.partition("/")
    if not slash or not key:
        return ""
    if group == "train":
        return key
    return f"{group}_{key}" if group in ("eval", "test") else ""


def _drop_placeholder(series: dict[str, Points]) -> None:
    """Lightning's TensorBoard logger writes `hp_metric` = -1 at step 0 whenever it logs
    hyperparameters without a metric (a slot for the hparams view to fill): no
    measurement. A value the user logs as `hp_metric` stays."""
    points = series.get(HP_METRIC)
    if points is None:
        return
    kept = [
        i for i, (s, v) in enumerate(zip(points.steps, points.values, strict=True)) if (s, v) != (0, -1.0)
    ]
    if not kept:
        del series[HP_METRIC]
    elif len(kept) < len(points):
        series[HP_METRIC] = Points(
            array("q", (points.steps[i] for i in kept)),
            array("q", (points.times_ms[i] for i in kept)),
            array("d", (points.values[i] for i in kept)),
        )


def _same_points(a: Points, b: Points) -> bool:
    return list(a.steps) == list(b.steps) and all(
        x == y or abs(x - y) <= 1e-6 * max(abs(x), abs(y)) for x, y in zip(a.values, b.values, strict=True)
    )


def _is_events(name: str) -> bool:
    return posixpath.basename(name).startswith("events.out.tfevents.")


def _row_parser(name: str) -> Callable[[bytes], list[row_logs.Row]] | None:
    base = posixpath.basename(name)
    if base == TRAINER_STATE:
        return row_logs.parse_log_history
    if _is_events(name) or base.endswith(".json"):
        return None
    return row_logs.parse_csv_rows


def _parsed(copies: Iterable[bytes], name: str) -> list[list[row_logs.Row]]:
    """The rows of earlier copies; one that no longer parses holds none."""
    parse = _row_parser(name)
    found = []
    for raw in copies:
        try:
            found.append(parse(raw) if parse is not None else [])
        except (ValueError, UnicodeDecodeError):
            continue
    return found


def _trainer_folder(name: str) -> str:
    """The Trainer's output folder: a state's own folder, or the one above its checkpoint."""
    folder = posixpath.dirname(name)
    if _CHECKPOINT.fullmatch(posixpath.basename(folder)):
        return posixpath.dirname(folder)
    return folder


def _newest_states(names: Iterable[str]) -> dict[str, str]:
    """The one `trainer_state.json` to read per output folder: the one the Trainer saves
    at the end beside its results, else the latest checkpoint's (each checkpoint holds
    the whole history up to it)."""
    chosen: dict[str, tuple[float, str]] = {}
    for name in names:
        folder = _trainer_folder(name)
        match = _CHECKPOINT.fullmatch(posixpath.basename(posixpath.dirname(name)))
        rank = float(match.group(1)) if match else float("inf")
        if folder not in chosen or rank > chosen[folder][0]:
            chosen[folder] = (rank, name)
    return {folder: name for folder, (_, name) in chosen.items()}


def _results(names: Iterable[str]) -> dict[str, list[str]]:
    """The results files to read per folder: `all_results.json` alone when there."""
    by_folder: dict[str, list[str]] = {}
    for name in sorted(names):
        by_folder.setdefault(posixpath.dirname(name), []).append(name)
    return {
        folder: [n for n in found if n.endswith("/all_results.json") or n == "all_results.json"] or found
        for folder, found in by_folder.items()
    }
