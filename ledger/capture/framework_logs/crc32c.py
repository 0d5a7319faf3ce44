"""CRC-32C (Castagnoli), the checksum TensorFlow's record files carry, in plain Python.

The standard library only has the IEEE CRC-32. Four bytes are folded per step with two
tables of 65,536 entries (a 16-bit variant of "slicing by 4"), which is about eight
times faster than a byte at a time; the tables are built on first use, not at import.
"""

from __future__ import annotations

import sys
from array import array
from functools import cache

_POLY = 0x82F63B78
"""The Castagnoli polynomial, bit-reversed (the CRC is computed least significant bit first)."""
_MASK_DELTA = 0xA282EAD8


def crc32c(data: bytes) -> int:
    """The CRC-32C of `data`."""
    byte_table, low, high = _tables()
    crc = 0xFFFFFFFF
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
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The CRC as record files store it: rotated and offset, so that a CRC of data that
    itself holds CRCs does not come out trivially."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


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
