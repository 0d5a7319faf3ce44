"""Runs of torch's scalar events read in bulk.

A file of scalars is mostly the one event torch's `add_scalar` (and Lightning's
TensorBoard logger) writes, wall time, step and a summary of one `simple_value`, and
mostly in rows: the same tags in the same order at each step. Read a record at a time,
the Python loop costs more than everything else together. Rows whose records have the
same headers, step sizes and tags are the same bytes but for the wall times, steps,
values and CRCs, at the same places: so a block of such rows is checked against the
row's template (`Row`) in a few operations on the whole block, and each field is taken
out a byte column at a time, without a Python step per record.

It reads nothing the record-at-a-time reader would not read alike, and stops at the
first row that is not the template's (that reader goes on from there). A template is
made from the records that reader just read, whose headers it checked (length and
CRC): a block that is the template's rows is exactly their records, and each header in
it one of those. Every record's data CRC is checked, in one pass a block.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass
from itertools import compress
from typing import TYPE_CHECKING, Any

from ledger.capture.framework_logs.crc32c import START, complemented, ends_at_zero
from ledger.core.chunks import Points

if TYPE_CHECKING:
    from collections.abc import Sequence

    Shape = tuple[bytes, int, bytes]
    """A torch scalar record's header, step size and tag bytes (`tag_points`)."""

MAX_WALL_TIME = 9e15
"""Seconds beyond which a wall time is damage (and would not fit the milliseconds column)."""
_FIRST_BLOCK = 64 * 1024
_LAST_BLOCK = 4 * 1024 * 1024
"""Bytes of rows checked at once: doubling, so that a short run costs little past its
end, and a long one holds a few copies of a few megabytes at most."""
_LITTLE = sys.byteorder == "little"
_HIGH_BIT = bytes(b & 0x80 for b in range(256))
_ABOVE_ONE = bytes(0 if b <= 1 else 0xFF for b in range(256))
"""The tenth byte of an int64's varint is 0 or 1; past that the record-at-a-time reader
fails on it, so a run must not take it."""
_LOW_SEVEN = bytes(b & 0x7F for b in range(256))
_MAX_WALL_BITS = int.from_bytes(struct.pack("<d", MAX_WALL_TIME), "little")
_HEADER = bytes(8) + START
"""What a header becomes for the CRC pass: zeros keep the register at zero, START takes
it to the CRC's initial value."""


def tag_points(shape: bytes, found: dict[str, Points]) -> Points | None:
    """The series of the tag of a scalar event's bytes between its step and its float,
    when they are a summary of one `simple_value` (`\x2a S \x0a V \x0a T <tag> \x15`)."""
    size = len(shape) - 7
    if not (
        0 < size < 0x77
        and shape[0] == 0x2A
        and shape[1] == size + 9
        and shape[2] == 0x0A
        and shape[3] == size + 7
        and shape[4] == 0x0A
        and shape[5] == size
        and shape[-1] == 0x15
    ):
        return None
    tag = _name(shape)
    points = found.get(tag)
    if points is None:
        points = found[tag] = Points(array("q"), array("q"), array("d"))
    return points


def _name(shape: bytes) -> str:
    return shape[6:-1].decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Row:
    """Where each record of a row of torch scalar events has its fields."""

    size: int
    template: bytes
    """The row's bytes with the varying ones as `masked` leaves them."""
    records: tuple[tuple[int, int, int], ...]
    """Each record's offset, step size and the offset of its float (its CRC follows)."""
    series: tuple[Points, ...]
    """Each record's tag's series."""

    def masked(self, block: bytes, rows: int) -> bytearray:
        """`block` with the wall times, values and CRCs zeroed and each step byte left
        with its continuation bit: the template's bytes, repeated, if its rows are."""
        out = bytearray(block)
        zeros = bytes(rows)
        for start, steps, value in self.records:
            for column in (*range(start + 13, start + 21), *range(value, value + 8)):
                out[column :: self.size] = zeros
            for j in range(steps):
                column = start + 22 + j
                table = _ABOVE_ONE if j == 9 else _HIGH_BIT
                out[column :: self.size] = out[column :: self.size].translate(table)
        return out


def repeating(recent: Sequence[Shape]) -> Sequence[Shape] | None:
    """The shortest row the records read last repeat, if they repeat it at least twice."""
    for size in range(1, len(recent) // 2 + 1):
        if recent[size:] == recent[:-size]:
            return recent[-size:]
    return None


def make_row(shapes: Sequence[Shape], found: dict[str, Points]) -> Row | None:
    """The row of records of these shapes, each just read a record at a time (so its
    header is known to frame it, with the right CRC, and its tag to have a series in
    `found`); None if a tag comes twice, as a tag's points are added a record slot at
    a time (tags are compared as decoded: two tags' bytes can decode alike)."""
    if len({_name(tag) for _, _, tag in shapes}) < len(shapes):
        return None
    template = bytearray()
    records = []
    series = []
    for head, steps, tag in shapes:
        series.append(found[_name(tag)])
        start = len(template)
        step = bytes([0x80] * (steps - 1) + [0])
        template += head + b"\x09" + bytes(8) + b"\x10" + step + tag + bytes(8)
        records.append((start, steps, len(template) - 8))
    return Row(len(template), bytes(template), tuple(records), tuple(series))


def read_run(raw: bytes, pos: int, row: Row, since: float | None) -> tuple[int, bool]:
    """Add the rows laid out as `row` from `pos` on to the row's series. Returns where
    they end, and whether every CRC matched and every wall time was one a clock gives
    (if not, nothing is added from the block that failed, and the record-at-a-time
    reader reads the file again, checking each record alone, to find which)."""
    block = _FIRST_BLOCK
    while True:
        rows = min(max(block // row.size, 1), (len(raw) - pos) // row.size)
        if rows == 0:
            return pos, True
        chunk = raw[pos : pos + rows * row.size]
        good = _matching_rows(row, chunk, rows)
        if good < rows:
            chunk = chunk[: good * row.size]
        if good == 0 or not _read_rows(row, chunk, good, since):
            return pos, good == 0
        pos += good * row.size
        if good < rows:
            return pos, True
        block = min(2 * block, _LAST_BLOCK)


def _matching_rows(row: Row, chunk: bytes, rows: int) -> int:
    """How many rows from the start of `chunk` are the template's: all of them at once,
    or found by halving."""
    masked = row.masked(chunk, rows)
    if masked == row.template * rows:
        return rows
    low, high = 0, rows - 1  # rows before `low` match; the row at `high` does not
    while low < high:
        middle = (low + high + 1) // 2
        if masked[: middle * row.size] == row.template * middle:
            low = middle
        else:
            high = middle - 1
    return low


def _read_rows(row: Row, chunk: bytes, rows: int, since: float | None) -> bool:
    """Check and add `rows` rows (the template's); False if a CRC or a wall time is wrong."""
    stream = bytearray(chunk)
    header = {byte: bytes([byte]) * rows for byte in set(_HEADER)}
    added = []
    for (start, step_size, value), points in zip(row.records, row.series, strict=True):
        for j, byte in enumerate(_HEADER):
            stream[start + j :: row.size] = header[byte]
        crcs = complemented(_field(chunk, value + 4, 4, row.size))
        for j in range(4):
            stream[value + 4 + j :: row.size] = crcs[j::4]
        walls = _field(chunk, start + 13, 8, row.size)
        if not _plausible(walls):
            return False
        wall_times = _numbers("d", walls)
        added.append((points, wall_times, start + 22, step_size, value))
    if not ends_at_zero(bytes(stream)):
        return False
    for points, wall_times, steps_at, step_size, value in added:
        if since is not None and max(wall_times) < since:
            continue
        steps = _steps(chunk, steps_at, step_size, row.size, rows)
        values = array("d", _numbers("f", _field(chunk, value, 4, row.size)))
        if since is not None and min(wall_times) < since:
            keep = bytes(map(since.__le__, wall_times))
            wall_times, steps, values = (_kept(a, keep) for a in (wall_times, steps, values))
        points.steps.extend(steps)
        points.times_ms.extend([int(wall_time * 1000) for wall_time in wall_times])
        points.values.extend(values)
    return True


def _plausible(walls: bytearray) -> bool:
    """Whether every double in `walls` (packed, little-endian) is within MAX_WALL_TIME
    of zero, as the record-at-a-time reader asks.

    Without their sign bits, doubles order as their bit patterns do, NaN and the
    infinities above every finite one: one pass over the patterns as integers does
    what comparing each double both ways (and NaN) would."""
    magnitudes = bytearray(walls)
    magnitudes[7::8] = magnitudes[7::8].translate(_LOW_SEVEN)
    patterns: array[int] = _numbers("Q", magnitudes)
    return max(patterns) < _MAX_WALL_BITS


def _field(chunk: bytes, offset: int, width: int, stride: int) -> bytearray:
    """A field `width` bytes wide at `offset` in every row, packed."""
    rows = len(chunk) // stride
    out = bytearray(width * rows)
    for j in range(width):
        out[j::width] = chunk[offset + j :: stride]
    return out


def _steps(chunk: bytes, offset: int, size: int, stride: int, rows: int) -> array[int]:
    """The varints of `size` bytes at `offset` in every row, as int64s.

    Each gets a lane of one big integer (8 bytes, 16 for a varint longer than that),
    its bytes' low seven bits moved together by a shift and a mask per byte for all
    the lanes at once; the low eight bytes of a lane are the int64 (a ten-byte varint
    is a negative number)."""
    if size == 1:
        return array("q", array("B", chunk[offset::stride]))
    width = 8 if size <= 8 else 16
    lanes = bytearray(width * rows)
    for j in range(size):
        lanes[j::width] = chunk[offset + j :: stride].translate(_LOW_SEVEN)
    bits = int.from_bytes(lanes, "little")
    number = 0
    for j in range(size):
        number |= (bits >> j) & int.from_bytes((0x7F << 7 * j).to_bytes(width, "little") * rows, "little")
    return _numbers("q", number.to_bytes(width * rows, "little"))[:: width // 8]


def _kept(numbers: array[int] | array[float], keep: bytes) -> array[Any]:
    return array(numbers.typecode, compress(numbers, keep))


def _numbers(code: str, data: bytes | bytearray) -> array[Any]:
    """Little-endian numbers as an array of the machine's."""
    out = array(code)
    out.frombytes(data)
    if not _LITTLE:
        out.byteswap()
    return out
