"""Keys and values as they compare across runs, not as they were recorded.

Each run writes into a folder of its own (Hydra's `outputs/<date>/<time>/`, the
Lightning-Hydra template's `logs/train/runs/<date>_<time>/`) and TensorBoard names its
files by time, host and process: recorded as they are, a bit-identical reproduction
differs from its original in every key and param that holds them. `ledger reproduce`,
`ledger diff` and `ledger list`'s column choice compare through these; the record itself
keeps what the run wrote.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ledger.core.param_values import ParamValue

V = TypeVar("V")

RUN_FOLDER_MARK = "<run folder>"
"""Stands for a run's own folder in keys and paths compared across runs."""

_EVENT_FILE = re.compile(r"events\.out\.tfevents\.(\d+)\.[^/:]+")


def folder_relative(text: str, folders: Sequence[str]) -> str:
    """`text` (a metric key, an output path) with the run's folder replaced by a mark,
    so the reproduction's `outputs/<its time>/x` is compared with the original's."""
    for folder in sorted(folders, key=len, reverse=True):
        if text == folder or text.startswith(f"{folder}/"):
            return RUN_FOLDER_MARK + text[len(folder) :]
        if f"{folder}/" in text:
            return text.replace(f"{folder}/", f"{RUN_FOLDER_MARK}/", 1)
    return text


def comparable_value(value: ParamValue, folders: Sequence[str]) -> ParamValue:
    """A param as it compares with another run's: a path inside the run's own folder
    (`trainer.default_root_dir`, `callbacks.model_checkpoint.dirpath`) names it by the mark."""
    return folder_relative(value, folders) if isinstance(value, str) else value


def comparable_keys(values: Mapping[str, V], folders: Sequence[str]) -> dict[str, V]:
    """Metric keys as they compare with another run's: the run's folder by the mark, and
    an event file (named in a key when two files of a run held one tag) by its place
    among the run's event files, oldest first: its time, host and process differ in every run."""
    relative = {folder_relative(key, folders): value for key, value in values.items()}
    files = sorted({m.group(0) for key in relative for m in _EVENT_FILE.finditer(key)}, key=_event_order)
    place = {name: f"events.out.tfevents.#{i}" for i, name in enumerate(files, start=1)}
    return {_EVENT_FILE.sub(lambda m: place[m.group(0)], key): value for key, value in relative.items()}


def folder_keys(values: Mapping[str, V], folders: Sequence[str]) -> dict[str, V]:
    """Paths (a run's output files) by their place in the run's own folder."""
    return {folder_relative(key, folders): value for key, value in values.items()}


def aligned(
    per_run: Sequence[tuple[Mapping[str, V], Sequence[str]]],
    rename: Callable[[Mapping[str, V], Sequence[str]], dict[str, V]] = comparable_keys,
) -> list[dict[str, V]]:
    """Each run's keys (with its folders) as they compare with the other runs': a key
    every run recorded stays as written; any other is renamed by its place in its run's
    own folder. A folder is a run's own when the run made it, so one run may own a fixed
    `out/` that another found there, and the same `out/model.pt` must still meet itself."""
    everywhere = set(per_run[0][0]).intersection(*(values for values, _ in per_run[1:]))
    return [
        {k: v for k, v in values.items() if k in everywhere}
        | rename({k: v for k, v in values.items() if k not in everywhere}, folders)
        for values, folders in per_run
    ]


def _event_order(name: str) -> tuple[int, str]:
    match = _EVENT_FILE.match(name)
    return (int(match.group(1)) if match else 0, name)
