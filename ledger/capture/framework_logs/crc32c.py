"""CRC-32C (Castagnoli), the checksum TensorFlow's record files carry, and the check of
many records' checksums in one pass.

The folding is google-crc32c's, in C (on a platform without its wheel it falls back to
its own pure-Python code: slower, still right). What is ours is the record files'
masking and the check of many records together.

Checking many short records one call each costs more in calls than in folding, so
`all_match` checks them in one pass: each record becomes `START + data + its CRC` (the
CRC complemented, little-endian). `START` takes the register from zero to the CRC's
initial value, and a record followed by its own complemented CRC takes it back to zero,
so the register ends at zero after the lot. A record whose CRC does not match leaves
it elsewhere (the CRC is linear: a difference in one record's bytes, or in several's,
is caught as a CRC of their concatenation catches it).
"""

from __future__ import annotations

import sys
import warnings
from array import array
from itertools import chain, repeat
from typing import TYPE_CHECKING

with warnings.catch_warnings():
    # Without its C extension it warns as it is imported: the reader is slower then, not
    # wrong, and the warning would land in the middle of the user's training output.
    warnings.simplefilter("ignore", RuntimeWarning)
    import google_crc32c

if TYPE_CHECKING:
    from collections.abc import Sequence

START = bytes.fromhex("54641f64")
"""The four bytes that take the register from zero to all ones (the unit tests check it)."""
_MASK_DELTA = 0xA282EAD8
_ALL_ONES = 0xFFFFFFFF


def crc32c(data: bytes) -> int:
    """The CRC-32C of `data`."""
    crc: int = google_crc32c.value(data)
    return crc


def masked_crc32c(data: bytes) -> int:
    """The CRC as record files store it: rotated and offset, so that a CRC of data that
    itself holds CRCs does not come out trivially."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & _ALL_ONES


def ends_at_zero(stream: bytes) -> bool:
    """Whether the register, started at zero, is zero again after `stream`.

    google-crc32c complements the register on the way in and on the way out, so a
    register of zero is all ones at its interface."""
    register: int = google_crc32c.extend(_ALL_ONES, stream)
    return register == _ALL_ONES


def complemented(masked: bytes | bytearray) -> bytes:
    """The complement of each masked CRC in `masked`, little-endian four-byte words
    both (as record files store them).

    Unmasking is a subtraction and a rotation per CRC; a Python expression per record
    would cost more than the whole check. Each CRC gets a 64-bit lane of one big
    integer instead, where the subtraction's borrow and the rotation's spill stay in the
    lane's upper half and are cut off: a few operations on that integer do them all."""
    count = len(masked) // 4
    lanes = bytearray(8 * count)
    for byte in range(4):
        lanes[byte::8] = masked[byte::4]
    low = _in_lanes(_ALL_ONES, count)
    rotated = (int.from_bytes(lanes, "little") + _in_lanes(-_MASK_DELTA & _ALL_ONES, count)) & low
    flipped = (((rotated << 15) | (rotated >> 17)) & low ^ low).to_bytes(8 * count, "little")
    out = bytearray(4 * count)
    for byte in range(4):
        out[byte::4] = flipped[byte::8]
    return bytes(out)


def _in_lanes(value: int, count: int) -> int:
    """`value` in each of `count` 64-bit lanes."""
    return int.from_bytes(value.to_bytes(8, "little") * count, "little")


def all_match(records: Sequence[bytes], masked: array[int]) -> bool:
    """Whether each record's masked CRC-32C is the one at the same place in `masked`."""
    stored = array("I", masked)
    if sys.byteorder == "big":
        stored.byteswap()
    crcs = complemented(stored.tobytes())
    pieces = (crcs[i : i + 4] for i in range(0, len(crcs), 4))
    return ends_at_zero(
        b"".join(chain.from_iterable(zip(repeat(START, len(records)), records, pieces, strict=True)))
    )
