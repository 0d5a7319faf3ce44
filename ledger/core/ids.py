"""Run identifiers: UUIDv7, so IDs sort by creation time and never collide across machines."""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, NewType

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

RunId = NewType("RunId", str)

MIN_PREFIX = 7
"""Shortest prefix ever shown, like git's default abbreviation."""

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_run_id() -> RunId:
    """Return a UUIDv7 as 32 lowercase hex digits.

    The first 48 bits are the Unix time in milliseconds, so IDs sort by creation;
    a 12-bit counter keeps IDs made in the same millisecond by this process in order
    (RFC 9562, method 1), and 62 random bits keep other processes apart.
    """
    global _last_ms, _counter
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            now = _last_ms
        else:
            _last_ms = now
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (now << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return RunId(f"{value:032x}")


def created_at(run_id: str) -> float:
    """When an ID was made, in Unix seconds: a UUIDv7 starts with its milliseconds."""
    return int(run_id[:12], 16) / 1000


def normalize_prefix(text: str) -> str:
    """Accept IDs as users paste them: with or without dashes, any case."""
    return text.strip().replace("-", "").lower()


def is_hex(text: str) -> bool:
    """Tell an ID prefix from a name: only hex digits can be an ID."""
    return bool(text) and all(c in "0123456789abcdef" for c in text)


def shortest_prefixes(
    ids: Sequence[str], neighbours: Mapping[str, tuple[str | None, str | None]]
) -> dict[str, str]:
    """The shortest unique prefix of each ID, given the IDs sorting just before and after it.

    Only those two neighbours can share a longer prefix with an ID (git-style
    abbreviation, never shorter than MIN_PREFIX).
    """
    result = {}
    for run_id in ids:
        need = MIN_PREFIX
        for other_id in neighbours.get(run_id, (None, None)):
            if other_id:
                common = next(
                    (i for i, (a, b) in enumerate(zip(run_id, other_id, strict=False)) if a != b),
                    len(other_id),
                )
                need = max(need, common + 1)
        result[run_id] = run_id[: min(need, len(run_id))]
    return result
