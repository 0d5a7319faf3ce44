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
is lost, so reading stops there); the data's CRC on every record a scalar is read from
and on every small one (`ALWAYS_CHECKED`). Damage keeps what was read before it and
becomes a capture problem; a record that decodes as nothing known but whose CRC is
right is another kind of event, skipped.
"""

from __future__ import annotations

import struct
from array import array
from typing import TYPE_CHECKING

from ledger.capture.framework_logs.crc32c import all_match, masked_crc32c
from ledger.capture.framework_logs.scalar_runs import (
    MAX_WALL_TIME,
    Row,
    make_row,
    read_run,
    repeating,
    tag_points,
)
from ledger.capture.framework_logs.wire import fields, signed, varint, varints
from ledger.core.chunks import Points

if TYPE_CHECKING:
    from pathlib import Path

_LENGTH = struct.Struct("<QI")
_U32 = struct.Struct("<I")
_DOUBLE = struct.Struct("<d")
_FLOAT = struct.Struct("<f")
_WALL = struct.Struct("<xd")
ALWAYS_CHECKED = 1024
"""Bytes up to which a record's CRC is checked though no scalar is read from it: a
scalar event a flipped bit made unrecognisable must not vanish unreported. Bigger
records (histograms, images, graphs: most of a training run's bytes) are not hashed."""
RUN_AFTER = 32
"""Torch scalar events in a row after which the rows they repeat are read in bulk
(`scalar_runs`): fewer, beside histograms, cost less a record at a time."""
_UNSEEN = Points(array("q"), array("q"), array("d"))
"""Stands for a shape not looked at yet (None: looked at, not a scalar's)."""

_NUMERIC = {1: ("f", 4), 2: ("d", 8), 3: ("i", 4), 9: ("q", 8), 4: ("B", 1), 5: ("h", 2), 6: ("b", 1)}
"""TensorFlow dtypes a scalar can have: float, double, int32, int64, uint8, int16, int8."""


def read_event_scalars(path: Path, *, since: float | None = None) -> tuple[dict[str, Points], list[str]]:
    """Every scalar in an event file logged at or after `since` (wall time), by tag."""
    raw = path.read_bytes()
    found, problems, checked = _read(raw, since, each=False)
    if not checked:
        found, problems, _ = _read(raw, since, each=True)
    return found, problems


def _read(raw: bytes, since: float | None, *, each: bool) -> tuple[dict[str, Points], list[str], bool]:
    """The scalars, the problems, and whether the CRCs of the common scalar event's
    records, checked together, matched (unless `each`: then every record is checked
    alone, to find the damaged ones once the check together failed).

    Most events are the one torch's `add_scalar` writes: wall time, step, a summary of
    one `simple_value`. Its bytes after the step are the same for every event of a tag,
    so they are looked up rather than decoded (`tag_points`), and once such events
    repeat a row of tags, the rows that follow are read in bulk (`scalar_runs`; not when
    `each`). The others go through the general decoder and are checked alone. A record
    header is checked once per distinct header: the whole twelve bytes are the key, so
    a header with a flipped byte is checked anew. A scalar record older than `since` is
    CRC-checked all the same: a damaged wall time must not make a record vanish
    unreported.
    """
    found: dict[str, Points] = {}
    problems: list[str] = []
    records: list[bytes] = []
    masked = array("I")
    bad_data = 0
    headers: dict[bytes, int] = {}
    shapes: dict[bytes, Points | None] = {}
    rows: dict[tuple[tuple[bytes, int, bytes], ...], Row | None] = {}
    recent: list[tuple[bytes, int, bytes]] = []
    add_record, add_masked = records.append, masked.append
    pos, end = 0, len(raw)
    while pos < end:
        if len(recent) >= RUN_AFTER:
            layout = tuple(repeating(recent) or ())
            recent.clear()
            if layout not in rows:
                rows[layout] = make_row(layout, found) if layout else None
            row = rows[layout]
            if row is not None:
                pos, checked = read_run(raw, pos, row, since)
                if not checked:
                    return found, problems, False
                continue
        head = raw[pos : pos + 12]
        length = headers.get(head)
        if length is None:
            if len(head) < 12:
                problems.append(f"truncated after {pos} bytes")
                break
            length, length_crc = _LENGTH.unpack(head)
            if masked_crc32c(head[:8]) != length_crc:
                problems.append(f"corrupt record header at byte {pos}; the rest is unreadable")
                break
            headers[head] = length
        start = pos + 12
        stop = start + length
        if stop + 4 > end:
            problems.append(f"truncated after {pos} bytes")
            break
        pos = stop + 4
        data = raw[start:stop]
        points = None
        if length > 16 and data[0] == 0x09 and data[9] == 0x10:
            if data[10] < 0x80:
                step, after = data[10], 11
            elif data[11] < 0x80:
                step, after = data[10] & 0x7F | data[11] << 7, 12
            else:
                try:
                    number, after = varint(data, 10)
                except (ValueError, IndexError):
                    number, after = 0, length
                step = signed(number)
            shape = data[after:-4]
            points = shapes.get(shape, _UNSEEN)
            if points is _UNSEEN:
                points = shapes[shape] = tag_points(shape, found)
        if points is not None:
            wall_time = _WALL.unpack_from(data)[0]
            if not -MAX_WALL_TIME < wall_time < MAX_WALL_TIME or (
                each and masked_crc32c(data) != _U32.unpack_from(raw, stop)[0]
            ):
                bad_data += 1
                recent.clear()
                continue
            if not each:
                add_record(data)
                add_masked(_U32.unpack_from(raw, stop)[0])
                recent.append((head, after - 10, shape))
            if since is None or wall_time >= since:
                points.steps.append(step)
                points.times_ms.append(int(wall_time * 1000))
                points.values.append(_FLOAT.unpack_from(data, length - 4)[0])
            continue
        recent.clear()
        try:
            wall_time, step, values = _event(data)
        except (ValueError, IndexError, struct.error):
            wall_time, step, values = 0.0, 0, []
        if not values and length > ALWAYS_CHECKED:
            continue
        if (
            not -MAX_WALL_TIME < wall_time < MAX_WALL_TIME
            or masked_crc32c(data) != _U32.unpack_from(raw, stop)[0]
        ):
            bad_data += 1
            continue
        if not values:
            continue
        if since is not None and wall_time < since:
            continue
        for name, value in values:
            points = found.get(name)
            if points is None:
                points = found[name] = Points(array("q"), array("q"), array("d"))
            points.steps.append(step)
            points.times_ms.append(int(wall_time * 1000))
            points.values.append(value)
    if bad_data:
        problems.append(f"{bad_data} damaged record(s) skipped")
    checked = each or all_match(records, masked)
    return {tag: points for tag, points in found.items() if points.steps}, problems, checked


def _event(data: bytes) -> tuple[float, int, list[tuple[str, float]]]:
    """(wall_time, step, [(tag, value)]) of one Event."""
    wall_time, step = 0.0, 0
    values: list[tuple[str, float]] = []
    for field, wire, number, value in fields(data):
        if field == 1 and wire == 1:
            wall_time = _DOUBLE.unpack(value)[0]
        elif field == 2 and wire == 0:
            step = signed(number)
        elif field == 5 and wire == 2:
            values = _summary(value)
    return wall_time, step, values


def _summary(data: bytes) -> list[tuple[str, float]]:
    found = []
    for field, wire, _, value in fields(data):
        if field != 1 or wire != 2:
            continue
        tag, number = "", None
        for f, w, _, v in fields(value):
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
    for field, wire, number, value in fields(data):
        if field == 1 and wire == 0:
            dtype = number
        elif field == 2 and wire == 2 and any(f == 2 for f, _, _, _ in fields(value)):
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
            listed.append(float(signed(number)))
        elif field in (7, 10) and wire == 2:
            listed.extend(float(signed(v)) for v in varints(value))
    if dtype not in _NUMERIC:
        return None
    if content:
        code, width = _NUMERIC[dtype]
        if len(content) != width:
            return None
        return float(array(code, content)[0])
    return listed[0] if len(listed) == 1 else None
