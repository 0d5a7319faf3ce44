"""Scalars from TensorBoard event files (`events.out.tfevents.*`), without TensorFlow.

An event file is a TFRecord file: each record is its length (u64, little-endian), the
masked CRC-32C of those eight bytes, the data, and the masked CRC-32C of the data. The
data is an `Event` protobuf; the few fields read here are decoded by hand:

    Event:        wall_time = 1 (double), step = 2 (int64), summary = 5
    Summary:      value = 1 (repeated)
    Value:        tag = 1, simple_value = 2 (float), tensor = 8
    TensorProto:  dtype = 1, tensor_shape = 2, tensor_content = 4,
                  float_val = 5, double_val = 6, int_val = 7, int64_val = 10

torch's `SummaryWriter` (and Lightning's TensorBoard logger) write `simple_value`;
TensorFlow 2 summaries write a scalar-shaped `tensor`. Histograms, images and text are
skipped. The length's CRC is checked on every record (a wrong one means the framing
is lost, so reading stops there); the data's CRC on every record a scalar is read from.
Damage keeps what was read before it and becomes a capture problem.
"""

from __future__ import annotations

import re
import struct
from array import array
from typing import TYPE_CHECKING

from ledger.capture.framework_logs.crc32c import masked_crc32c
from ledger.core.chunks import Points

if TYPE_CHECKING:
    from pathlib import Path

_LENGTH = struct.Struct("<QI")
_U32 = struct.Struct("<I")
_DOUBLE = struct.Struct("<d")
_FLOAT = struct.Struct("<f")

_SIMPLE = re.compile(
    rb"\x09(.{8})(?:\x10([\x80-\xff]{0,9}[\x00-\x7f]))?\x2a([\x00-\x7f])\x0a([\x00-\x7f])\x0a([\x00-\x7f])",
    re.DOTALL,
)
"""The start of the event torch's `add_scalar` writes (wall time, step, a summary with
one short-tagged `simple_value`), read without the general decoder: most events are these."""

_NUMERIC = {1: ("f", 4), 2: ("d", 8), 3: ("i", 4), 9: ("q", 8), 4: ("B", 1), 5: ("h", 2), 6: ("b", 1)}
"""TensorFlow dtypes a scalar can have: float, double, int32, int64, uint8, int16, int8."""


def read_event_scalars(path: Path, *, since: float | None = None) -> tuple[dict[str, Points], list[str]]:
    """Every scalar in an event file logged at or after `since` (wall time), by tag."""
    raw = path.read_bytes()
    found: dict[str, Points] = {}
    problems: list[str] = []
    bad_data = 0
    length_ok: set[bytes] = set()
    pos, end = 0, len(raw)
    while pos < end:
        if end - pos < 12:
            problems.append(f"truncated after {pos} bytes")
            break
        head = raw[pos : pos + 12]
        length, length_crc = _LENGTH.unpack(head)
        if head[:8] not in length_ok:
            if masked_crc32c(head[:8]) != length_crc:
                problems.append(f"corrupt record header at byte {pos}; the rest is unreadable")
                break
            length_ok.add(head[:8])
        stop = pos + 12 + length
        if stop + 4 > end:
            problems.append(f"truncated after {pos} bytes")
            break
        data = raw[pos + 12 : stop]
        pos = stop + 4
        try:
            wall_time, step, values = _event(data)
        except (ValueError, IndexError, struct.error):
            bad_data += 1
            continue
        if not values or (since is not None and wall_time < since):
            continue
        if masked_crc32c(data) != _U32.unpack_from(raw, stop)[0]:
            bad_data += 1
            continue
        for tag, value in values:
            points = found.get(tag)
            if points is None:
                points = found[tag] = Points(array("q"), array("q"), array("d"))
            points.steps.append(step)
            points.times_ms.append(int(wall_time * 1000))
            points.values.append(value)
    if bad_data:
        problems.append(f"{bad_data} damaged record(s) skipped")
    return found, problems


def _event(data: bytes) -> tuple[float, int, list[tuple[str, float]]]:
    """(wall_time, step, [(tag, value)]) of one Event."""
    m = _SIMPLE.match(data)
    if m is not None:
        summary, value, tag = m.group(3)[0], m.group(4)[0], m.group(5)[0]
        start = m.end()
        if (
            summary == value + 2
            and value == tag + 7
            and len(data) == start + tag + 5
            and data[start + tag] == 0x15
        ):
            step = _signed(_varint(m.group(2), 0)[0]) if m.group(2) else 0
            number = _FLOAT.unpack_from(data, start + tag + 1)[0]
            name = data[start : start + tag].decode("utf-8", "replace")
            return _DOUBLE.unpack(m.group(1))[0], step, [(name, number)]
    wall_time, step = 0.0, 0
    values: list[tuple[str, float]] = []
    for field, wire, number, value in _fields(data):
        if field == 1 and wire == 1:
            wall_time = _DOUBLE.unpack(value)[0]
        elif field == 2 and wire == 0:
            step = _signed(number)
        elif field == 5 and wire == 2:
            values = _summary(value)
    return wall_time, step, values


def _summary(data: bytes) -> list[tuple[str, float]]:
    found = []
    for field, wire, _, value in _fields(data):
        if field != 1 or wire != 2:
            continue
        tag, number = "", None
        for f, w, _, v in _fields(value):
            if f == 1 and w == 2:
                tag = v.decode("utf-8", "replace")
            elif f == 2 and w == 5:
                number = _FLOAT.unpack(v)[0]
            elif f == 8 and w == 2:
                number = _scalar_tensor(v)
        if tag and number is not None:
            found.append((tag, float(number)))
    return found


def _scalar_tensor(data: bytes) -> float | None:
    """The value of a TensorProto holding one number, else None (a histogram, an image)."""
    dtype = 0
    content = b""
    listed: list[float] = []
    for field, wire, number, value in _fields(data):
        if field == 1 and wire == 0:
            dtype = number
        elif field == 2 and wire == 2 and any(f == 2 for f, _, _, _ in _fields(value)):
            return None  # a shape with dimensions
        elif field == 4 and wire == 2:
            content = value
        elif field in (5, 6) and wire == 2:
            code = "f" if field == 5 else "d"
            listed.extend(array(code, value))
        elif field == 5 and wire == 5:
            listed.append(_FLOAT.unpack(value)[0])
        elif field == 6 and wire == 1:
            listed.append(_DOUBLE.unpack(value)[0])
        elif field in (7, 10) and wire == 0:
            listed.append(float(_signed(number)))
        elif field in (7, 10) and wire == 2:
            listed.extend(float(_signed(v)) for v in _varints(value))
    if dtype not in _NUMERIC:
        return None
    if content:
        code, width = _NUMERIC[dtype]
        if len(content) != width:
            return None
        return float(array(code, content)[0])
    return listed[0] if len(listed) == 1 else None


def _fields(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(field number, wire type, varint, bytes) of each field of a protobuf message: the
    varint is 0 for other wire types, the bytes empty for varints. Groups (wire types 3
    and 4) are not used by these messages."""
    out: list[tuple[int, int, int, bytes]] = []
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            number, pos = _varint(data, pos)
            out.append((field, wire, number, b""))
        elif wire == 1:
            out.append((field, wire, 0, data[pos : pos + 8]))
            pos += 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            out.append((field, wire, 0, data[pos : pos + size]))
            pos += size
        elif wire == 5:
            out.append((field, wire, 0, data[pos : pos + 4]))
            pos += 4
        else:
            raise ValueError(f"unexpected wire type {wire}")
        if pos > end:
            raise ValueError("field runs past the message")
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _varints(data: bytes) -> list[int]:
    values, pos = [], 0
    while pos < len(data):
        value, pos = _varint(data, pos)
        values.append(value)
    return values


def _signed(value: int) -> int:
    """Two's complement int64 from a varint (negative numbers take ten bytes)."""
    return value - (1 << 64) if value >= 1 << 63 else value
