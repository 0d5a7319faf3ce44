"""Draw a series as a row of block characters, for a table cell."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int) -> str:
    """The last `width` values scaled between their min and max; NaN/inf draw as a gap."""
    shown = list(values)[-width:] if width > 0 else []
    finite = [v for v in shown if math.isfinite(v)]
    if not finite:
        return " " * len(shown)
    low, high = min(finite), max(finite)
    span = high - low
    top = len(BLOCKS) - 1
    out = []
    for value in shown:
        if not math.isfinite(value):
            out.append(" ")
        elif span == 0:
            out.append(BLOCKS[top // 2])
        else:
            out.append(BLOCKS[round((value - low) / span * top)])
    return "".join(out)
