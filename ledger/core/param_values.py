"""A param's value, and how the params table stores it: its type, its text, a number to compare.

Both sides use it: the store encodes, every reader decodes; `ledger list` does so
without loading `ledger.core.records`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

ParamValue = int | float | bool | str | None | list[object] | dict[str, object]
"""What a param holds: a scalar, or a list or mapping kept whole."""


@dataclass(frozen=True, slots=True)
class ParamRow:
    """A param as stored: its type, its text, and (ints and floats only) a float to compare."""

    kind: str
    num: float | None
    text: str


def to_row(value: ParamValue) -> ParamRow:
    """Encode a value for the params table."""
    if isinstance(value, bool):
        return ParamRow("bool", None, "true" if value else "false")
    if isinstance(value, int):
        return ParamRow("int", float(value), str(value))
    if isinstance(value, float):
        return ParamRow("float", None if math.isnan(value) else value, repr(value))
    if value is None:
        return ParamRow("null", None, "null")
    if isinstance(value, str):
        return ParamRow("str", None, value)
    return ParamRow("json", None, json.dumps(value, sort_keys=True, default=str))


def from_row(kind: str, text: str) -> ParamValue:
    """Decode what `to_row` stored, back to the exact type."""
    if kind == "bool":
        return text == "true"
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "null":
        return None
    if kind == "json":
        decoded: ParamValue = json.loads(text)
        return decoded
    return text
