"""The protobuf wire format, as much of it as the event files' messages use: fields,
varints and int64s, decoded by hand (the protobuf package is a heavy import)."""

from __future__ import annotations


def fields(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(field number, wire type, varint, bytes) of each field of a protobuf message: the
    varint is 0 for other wire types, the bytes empty for varints. Groups (wire types 3
    and 4) are not used by these messages."""
    out: list[tuple[int, int, int, bytes]] = []
    pos, end = 0, len(data)
    while pos < end:
        key, pos = varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            number, pos = varint(data, pos)
            out.append((field, wire, number, b""))
        elif wire == 1:
            out.append((field, wire, 0, data[pos : pos + 8]))
            pos += 8
        elif wire == 2:
            size, pos = varint(data, pos)
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


def varint(data: bytes, pos: int) -> tuple[int, int]:
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


def varints(data: bytes) -> list[int]:
    values, pos = [], 0
    while pos < len(data):
        value, pos = varint(data, pos)
        values.append(value)
    return values


def signed(value: int) -> int:
    """Two's complement int64 from a varint (negative numbers take ten bytes)."""
    return value - (1 << 64) if value >= 1 << 63 else value
