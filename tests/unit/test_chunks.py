"""Unit tests for ledger.core.chunks: the `z1` point format and merging chunks into a series."""

from __future__ import annotations

import math
import struct
from array import array

import pytest

from ledger.core.chunks import CODEC, Points, decode, encode, merge

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def points(steps: list[int], values: list[float], times_ms: list[int] | None = None) -> Points:
    """Points with times defaulting to 1000 ms per step, so each point's time is traceable."""
    times = [1_700_000_000_000 + 1000 * s for s in steps] if times_ms is None else times_ms
    return Points(array("q", steps), array("q", times), array("d", values))


def roundtrip(p: Points) -> Points:
    return decode(CODEC, encode(p), len(p))


def bits(value: float) -> bytes:
    """The IEEE-754 bit pattern, so NaN payloads and the sign of zero are compared exactly."""
    return struct.pack("<d", value)


def as_lists(p: Points) -> tuple[list[int], list[int], list[float]]:
    return list(p.steps), list(p.times_ms), list(p.values)


@pytest.mark.parametrize(
    "p",
    [
        points([], []),
        points([0], [0.5]),
        points([0, 1, 2, 3], [1.0, 0.5, 0.25, 0.125]),
        points(list(range(10_000)), [i / 7 for i in range(10_000)]),
    ],
    ids=["empty", "one-point", "few-points", "ten-thousand-points"],
)
def test_encode_decode_round_trips_points(p: Points) -> None:
    assert as_lists(roundtrip(p)) == as_lists(p)


@pytest.mark.parametrize(
    "value",
    [math.nan, -math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308],
    ids=["nan", "negative-nan", "inf", "-inf", "negative-zero", "zero", "subnormal", "max-float"],
)
def test_encode_decode_keeps_special_floats_bit_for_bit(value: float) -> None:
    decoded = roundtrip(points([1], [value])).values[0]

    assert bits(decoded) == bits(value)


def test_encode_decode_keeps_a_nan_payload() -> None:
    signalling = struct.unpack("<d", struct.pack("<Q", 0x7FF0_0000_0000_0001))[0]

    decoded = roundtrip(points([0], [signalling])).values[0]

    assert struct.pack("<d", decoded) == struct.pack("<Q", 0x7FF0_0000_0000_0001)


@pytest.mark.parametrize(
    "steps",
    [[2**31, 2**32 + 1], [2**53 + 1, 2**62], [INT64_MIN, -1, INT64_MAX]],
    ids=["past-int32", "past-float-precision", "int64-extremes"],
)
def test_encode_decode_keeps_large_steps_exact(steps: list[int]) -> None:
    p = points(steps, [0.0] * len(steps), times_ms=steps)

    assert as_lists(roundtrip(p)) == as_lists(p)


def test_encode_is_little_endian_int64_int64_float64_after_zlib() -> None:
    import zlib

    raw = zlib.decompress(encode(points([7], [2.5], times_ms=[9])))

    assert raw == struct.pack("<q", 7) + struct.pack("<q", 9) + struct.pack("<d", 2.5)


@pytest.mark.parametrize("codec", ["z2", "", "Z1", "zlib"], ids=["next", "empty", "uppercase", "name"])
def test_decode_rejects_an_unknown_codec_naming_it(codec: str) -> None:
    payload = encode(points([0], [1.0]))

    with pytest.raises(ValueError, match=f"unknown metric chunk codec {codec!r}"):
        decode(codec, payload, 1)


def test_merge_of_nothing_is_empty() -> None:
    assert len(merge([])) == 0


def test_merge_concatenates_in_order_chunks() -> None:
    merged = merge([points([0, 1], [1.0, 2.0]), points([2, 3], [3.0, 4.0])])

    assert as_lists(merged) == as_lists(points([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0]))


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            [points([2, 3], [20.0, 30.0]), points([0, 1], [0.0, 10.0])],
            points([0, 1, 2, 3], [0.0, 10.0, 20.0, 30.0]),
        ),
        (
            [points([0, 2, 4], [0.0, 2.0, 4.0]), points([1, 3, 5], [1.0, 3.0, 5.0])],
            points([0, 1, 2, 3, 4, 5], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
        ),
        (
            [points([5, 1, 3], [5.0, 1.0, 3.0])],
            points([1, 3, 5], [1.0, 3.0, 5.0]),
        ),
    ],
    ids=["later-chunk-earlier-steps", "interleaved-writers", "unsorted-within-a-chunk"],
)
def test_merge_sorts_out_of_order_steps(parts: list[Points], expected: Points) -> None:
    assert as_lists(merge(parts)) == as_lists(expected)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            [points([0, 1], [0.0, 1.0]), points([1], [99.0], times_ms=[5])],
            points([0, 1], [0.0, 99.0], times_ms=[1_700_000_000_000, 5]),
        ),
        (
            [points([3, 3, 3], [1.0, 2.0, 3.0], times_ms=[1, 2, 3])],
            points([3], [3.0], times_ms=[3]),
        ),
        (
            [points([0, 1, 2], [0.0, 1.0, 2.0]), points([0, 1, 2], [7.0, 8.0, 9.0], times_ms=[7, 8, 9])],
            points([0, 1, 2], [7.0, 8.0, 9.0], times_ms=[7, 8, 9]),
        ),
    ],
    ids=["step-logged-again-later", "same-step-thrice-in-one-chunk", "whole-series-relogged"],
)
def test_merge_keeps_the_last_written_point_of_a_duplicate_step(
    parts: list[Points], expected: Points
) -> None:
    assert as_lists(merge(parts)) == as_lists(expected)


def test_merge_replaces_a_value_with_a_later_nan() -> None:
    merged = merge([points([0], [1.0]), points([0], [math.nan])])

    assert math.isnan(merged.values[0])


def test_merge_sorts_negative_and_large_steps_numerically() -> None:
    merged = merge([points([2**40, -5], [1.0, 2.0]), points([0], [3.0])])

    assert list(merged.steps) == [-5, 0, 2**40]
