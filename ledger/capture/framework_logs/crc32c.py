"""CRC-32C (Castagnoli), the checksum TensorFlow's record files carry, in plain Python.

The standard library only has the IEEE CRC-32. Four bytes are folded per step with two
tables of 65,536 entries (a 16-bit variant of "slicing by 4"), which is about eight
times faster than a byte at a time; the tables are built on first use, not at import.

Checking many short records one call each costs more in calls than in folding, so
`all_match` checks them in one pass: each record becomes `START + data + its CRC` (the
CRC complemented, little-endian). `START` takes the register from zero to the CRC's
initial value, and a record followed by its own complemented CRC takes it back to zero,
so the register ends at zero after the lot. A record whose CRC does not match leaves
it elsewhere (the CRC is linear: a difference in one record's bytes, or in several's,
is caught as a CRC of their concatenation catches it).
"""

from __future__ import annotations

import struct
import sys
from array import array
from functools import cache
from itertools import chain, repeat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

_POLY = 0x82F63B78
"""The Castagnoli polynomial, bit-reversed (the CRC is computed least significant bit first)."""
_MASK_DELTA = 0xA282EAD8


def crc32c(data: bytes) -> int:
    """The CRC-32C of `data`."""
    return _fold(data, 0xFFFFFFFF) ^ 0xFFFFFFFF


def _fold(data: bytes, crc: int) -> int:
    """The CRC register after `data`, starting from `crc` (no final complement)."""
    byte_table, low, high = _tables()
    whole = len(data) & ~3
    words = array("I")
    words.frombytes(data[:whole])
    if sys.byteorder == "big":
        words.byteswap()
    for word in words:
        c = crc ^ word
        crc = low[c & 0xFFFF] ^ high[c >> 16]
    for b in data[whole:]:
        crc = byte_table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def masked_crc32c(data: bytes) -> int:
    """The CRC as record files store it: rotated and offset, so that a CRC of data that
    itself holds CRCs does not come out trivially."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def all_match(records: Sequence[bytes], masked: Sequence[int]) -> bool:
    """Whether each record's masked CRC-32C is the one at the same place in `masked`."""
    if len(records) != len(masked):
        return False
    complemented = struct.pack(f"<{len(masked)}I", *(_unmask(m) ^ 0xFFFFFFFF for m in masked))
    crcs = (complemented[i : i + 4] for i in range(0, len(complemented), 4))
    stream = b"".join(chain.from_iterable(zip(repeat(_start()), records, crcs, strict=False)))
    return _fold(stream, 0) == 0


def _unmask(masked: int) -> int:
    rotated = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rotated << 15) | (rotated >> 17)) & 0xFFFFFFFF


@cache
def _start() -> bytes:
    """The four bytes that take the register from zero to all ones: the linear map of
    folding one word from zero, inverted by elimination over GF(2)."""
    _, low, high = _tables()
    rows = [(low[(1 << bit) & 0xFFFF] ^ high[(1 << bit) >> 16], 1 << bit) for bit in range(32)]
    target, word = 0xFFFFFFFF, 0
    for bit in range(32):
        pivot = next(i for i, (image, _) in enumerate(rows) if image >> bit & 1)
        image, source = rows.pop(pivot)
        rows = [(i ^ image, s ^ source) if i >> bit & 1 else (i, s) for i, s in rows]
        if target >> bit & 1:
            target ^= image
            word ^= source
    return struct.pack("<I", word)


@cache
def _tables() -> tuple[list[int], array[int], array[int]]:
    """The byte table, and the tables of four byte steps over the low and high half-words."""
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    # t[k][b]: byte b, followed by k zero bytes.
    t = [table]
    for _ in range(3):
        prev = t[-1]
        t.append([(prev[b] >> 8) ^ table[prev[b] & 0xFF] for b in range(256)])
    t3, t2, t1, t0 = t[3], t[2], t[1], t[0]
    low = array("I", [t3[x & 0xFF] ^ t2[x >> 8] for x in range(65536)])
    high = array("I", [t1[x & 0xFF] ^ t0[x >> 8] for x in range(65536)])
    return table, low, high
