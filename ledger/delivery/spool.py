"""Crash-safe side files of a running run: every metric point and the log, as written.

A process killed with SIGKILL loses what it buffered in memory, but not what it
already handed to the kernel: each `log_metrics` call appends one line here with a
single `write()`. Whoever notices the run died ingests these files, so nothing
logged before the kill is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from array import array
from typing import TYPE_CHECKING

from ledger.core.chunks import Points

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ledger.core.records import Param

LOG_NAME = "output.log"

EXTRAS_PREFIX = "extras-"
"""Spool files (one JSON line per call) of params and tags logged while the server was away."""


def run_dir(spool_dir: Path, run_id: str) -> Path:
    """The folder holding one run's spool files."""
    return spool_dir / run_id


def open_points_file(spool_dir: Path, run_id: str, seq: int) -> tuple[int, Path]:
    """Create this process's `seq`-th points file; returns a raw fd for unbuffered writes."""
    folder = run_dir(spool_dir, run_id)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"points-{os.getpid()}-{seq}.bin"
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), path


class KeySet:
    """Packs the points of one set of keys (one `log_metrics` call shape) into records.

    Records: `K` number, length, JSON keys; `S` number, time, step, values (one step
    for all keys); `A` number, time, steps, values (a step per key). Binary with
    fixed layouts, because formatting text costs more than the write itself.
    """

    def __init__(self, number: int, keys: tuple[str, ...]) -> None:
        self.number = number
        self.keys = keys
        n = len(keys)
        self._common = struct.Struct(f"<cHqq{n}d")
        self._each = struct.Struct(f"<cHq{n}q{n}d")

    def declaration(self) -> bytes:
        """The `K` record naming the keys; written to a file before the set's first point."""
        body = json.dumps(list(self.keys)).encode()
        return b"K" + struct.pack("<HI", self.number, len(body)) + body

    def pack(self, time_ms: int, step: int, values: list[float]) -> bytes:
        """One call where every key shares the step."""
        return self._common.pack(b"S", self.number, time_ms, step, *values)

    def pack_steps(self, time_ms: int, steps: list[int], values: list[float]) -> bytes:
        """One call where each key has its own step (auto-incremented per key)."""
        return self._each.pack(b"A", self.number, time_ms, *steps, *values)


def read_points(path: Path) -> dict[str, Points]:
    """Parse a points file back into series; a torn last record (the kill) is dropped."""
    series: dict[str, Points] = {}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return series
    keysets: dict[int, tuple[str, ...]] = {}
    pos = 0
    while pos < len(data):
        kind = data[pos : pos + 1]
        try:
            if kind == b"K":
                number, size = struct.unpack_from("<HI", data, pos + 1)
                keys = tuple(json.loads(data[pos + 7 : pos + 7 + size]))
                if pos + 7 + size > len(data):
                    break
                keysets[number] = keys
                pos += 7 + size
                continue
            (number,) = struct.unpack_from("<H", data, pos + 1)
            keys = keysets[number]
            n = len(keys)
            if kind == b"S":
                _, _, time_ms, step, *values = struct.unpack_from(f"<cHqq{n}d", data, pos)
                steps = [step] * n
                pos += struct.calcsize(f"<cHqq{n}d")
            elif kind == b"A":
                _, _, time_ms, *rest = struct.unpack_from(f"<cHq{n}q{n}d", data, pos)
                steps, values = rest[:n], rest[n:]
                pos += struct.calcsize(f"<cHq{n}q{n}d")
            else:
                break
        except (struct.error, KeyError, ValueError):
            break  # a record cut short by the kill: everything before it is good
        for key, step_, value in zip(keys, steps, values, strict=True):
            points = series.get(key)
            if points is None:
                points = series[key] = Points(array("q"), array("q"), array("d"))
            points.steps.append(step_)
            points.times_ms.append(time_ms)
            points.values.append(value)
    return series


def pending_points_files(spool_dir: Path, run_id: str) -> list[Path]:
    """Points files of a run, oldest first, left by processes that did not flush them."""
    folder = run_dir(spool_dir, run_id)
    if not folder.is_dir():
        return []
    return sorted(folder.glob("points-*.bin"), key=lambda p: p.stat().st_mtime_ns)


def remove_run_dir(spool_dir: Path, run_id: str) -> None:
    """Drop a run's spool once everything in it is in the ledger."""
    folder = run_dir(spool_dir, run_id)
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    # Another process of the run may have just written a new file; it cleans up itself.
    with contextlib.suppress(OSError):
        folder.rmdir()


def write_extras(
    spool_dir: Path, run_id: str, *, params: Sequence[Param] = (), tags: Sequence[str] = ()
) -> None:
    """Keep params or tags the API could not write, for the run's end to save."""
    folder = run_dir(spool_dir, run_id)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = json.dumps(
        {"params": [[p.key, p.value, p.source] for p in params], "tags": list(tags)}, default=str
    )
    with (folder / f"{EXTRAS_PREFIX}{os.getpid()}.jsonl").open("a") as f:
        f.write(line + "\n")
