"""Pack a series' points into blobs: one row per flush instead of one per point.

Format `z1`: zlib (level 1) of three little-endian arrays back to back: int64 steps,
int64 wall-clock milliseconds, float64 values. Steps and times compress to about two
bytes a point; NaN and infinities survive as IEEE bit patterns.
"""

from __future__ import annotations

import sys
import zlib
from array import array
from dataclasses import dataclass

CODEC = "z1"


@dataclass(frozen=True, slots=True)
class Points:
    """A run of (step, time, value) points, kept as parallel arrays."""

    steps: array[int]
    times_ms: array[int]
    values: array[float]

    def __len__(self) -> int:
        return len(self.steps)


def encode(points: Points) -> bytes:
    """Serialise points in the `z1` format."""
    parts: list[array[int] | array[float]] = [
        array("q", points.steps),
        array("q", points.times_ms),
        array("d", points.values),
    ]
    if sys.byteorder == "big":
        for part in parts:
            part.byteswap()
    return zlib.compress(b"".join(p.tobytes() for p in parts), 1)


def decode(codec: str, payload: bytes, count: int) -> Points:
    """Read back what `encode` wrote; `count` comes from the chunk's row."""
    if codec != CODEC:
        raise ValueError(f"unknown metric chunk codec {codec!r}")
    raw = zlib.decompress(payload)
    width = 8 * count
    steps, times, values = array("q"), array("q"), array("d")
    steps.frombytes(raw[:width])
    times.frombytes(raw[width : 2 * width])
    values.frombytes(raw[2 * width : 3 * width])
    if sys.byteorder == "big":
        for part in (steps, times, values):
            part.byteswap()
    return Points(steps, times, values)


def merge(parts: list[Points]) -> Points:
    """Join chunks in write order into one series sorted by step, the last value winning.

    Chunks of one writer arrive in step order already; sorting only matters when
    several processes logged the same series or a step was logged twice.
    """
    steps, times, values = array("q"), array("q"), array("d")
    for part in parts:
        steps.extend(part.steps)
        times.extend(part.times_ms)
        values.extend(part.values)
    if all(steps[i] < steps[i + 1] for i in range(len(steps) - 1)):
        return Points(steps, times, values)
    latest: dict[int, int] = {}
    for i, step in enumerate(steps):
        latest[step] = i
    order = sorted(latest)
    return Points(
        array("q", order),
        array("q", (times[latest[s]] for s in order)),
        array("d", (values[latest[s]] for s in order)),
    )
