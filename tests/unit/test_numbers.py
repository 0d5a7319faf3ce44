"""Unit tests for ledger.core.numbers: numbers fitted to a width keep their sign and exponent."""

from __future__ import annotations

import math
import random

import pytest

from ledger.core.numbers import FITS_ALL, SIGNIFICANT, format_number
from ledger.read.render import format_value


@pytest.mark.parametrize(
    ("value", "width", "expected"),
    [
        (4.74103e-05, 8, "4.74e-05"),
        (4.74103e-05, 7, "4.7e-05"),
        (4.74103e-05, 9, "4.741e-05"),
        (0.000134567, 8, "0.000135"),
        (-4.74103e-05, 8, "-4.7e-05"),
        (1.23456789e300, 8, "1.2e+300"),
        (-1.23456789e300, 8, "-1e+300"),
        (5e-324, 8, "4.9e-324"),
        (123456789.0, 8, "1.23e+08"),
        (9.9999e-05, 7, "0.0001"),
        (10**20, 8, "1e+20"),
        (123456789, 8, "1.23e+08"),
        (-123456789, 8, "-1.2e+08"),
        (999999999, 8, "1e+09"),
        (12345678901234567890123, 10, "1.2346e+22"),
        (10**400 + 1, 8, "1e+400"),
        (-(10**400), 8, "-1e+400"),
    ],
    ids=[
        "the issue's metric",
        "one digit less",
        "one digit more",
        "small fixed-point",
        "negative",
        "huge",
        "huge negative",
        "tiniest subnormal",
        "large float",
        "rounding carries",
        "big int",
        "int",
        "negative int",
        "int rounding carries",
        "int beyond a float's precision",
        "int beyond a float's range",
        "negative int beyond a float's range",
    ],
)
def test_a_number_too_wide_loses_digits_not_its_exponent(value: float, width: int, expected: str) -> None:
    assert format_number(value, width) == expected


@pytest.mark.parametrize(
    ("value", "width", "expected"),
    [
        (0.81, 8, "0.81"),
        (4.74103e-05, 11, "4.74103e-05"),
        (12345678, 8, "12345678"),
        (-0.0, 8, "-0"),
        (0, 8, "0"),
        (math.nan, 8, "nan"),
        (math.inf, 8, "inf"),
        (-math.inf, 8, "-inf"),
        (1e-7, 8, "1e-07"),
        (10**20, None, "100000000000000000000"),
        (0.123456789, None, "0.123457"),
    ],
    ids=["short", "exactly wide enough", "int exactly wide enough", "negative zero", "zero",
         "nan", "inf", "-inf", "tiny that fits", "no width: an int in full", "no width: six digits"],
)  # fmt: skip
def test_a_number_that_fits_is_not_altered(value: float, width: int | None, expected: str) -> None:
    assert format_number(value, width) == expected
    assert format_value(value) == format_number(value)


@pytest.mark.parametrize(("value", "expected"), [(0.05, "+0.05"), (-0.05, "-0.05"), (3, "+3"), (0, "+0")])
def test_plus_signs_positive_deltas(value: float, expected: str) -> None:
    assert format_number(value, plus=True) == expected


def test_plus_keeps_its_sign_when_digits_go() -> None:
    assert format_number(4.74103e-05, 8, plus=True) == "+4.7e-05"
    assert format_number(10**20, 6, plus=True) == "+1e+20"


def test_a_width_too_small_for_one_digit_gives_the_one_digit_form_uncut() -> None:
    assert format_number(-1.5e-300, 4) == "-2e-300"
    assert format_number(math.nan, 2) == "nan"


def test_every_number_fits_FITS_ALL_and_reads_back_close() -> None:  # noqa: N802
    rng = random.Random(20260101)
    floats = [rng.choice((-1, 1)) * rng.uniform(1, 10) * 10.0 ** rng.randint(-320, 300) for _ in range(3000)]
    ints = [rng.choice((-1, 1)) * rng.randrange(10 ** rng.randint(1, 400)) for _ in range(1000)]
    for value in [*floats, *ints]:
        for width in range(FITS_ALL, 14):
            text = format_number(value, width)

            assert len(text) <= width, (value, width, text)
            if abs(value) < 1e308:
                # At least one significant digit survives, so the sign and magnitude do.
                assert math.isclose(float(text), value, rel_tol=0.34), (value, width, text)
            else:  # an int beyond a float's range
                digits = len(str(abs(value)))
                assert text.startswith("-") == (value < 0), (value, text)
                assert int(text.split("e+")[1]) in (digits - 1, digits), (value, text)


def test_more_width_never_shows_fewer_digits() -> None:
    value = 4.74103e-05
    shown = [format_number(value, width) for width in range(FITS_ALL, 13)]

    digits = [len(t.split("e")[0].replace(".", "").lstrip("-")) for t in shown]
    assert digits == sorted(digits)
    assert digits[-1] == SIGNIFICANT


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, "true"), (False, "false"), ("4.74103e-05 is text", "4.74103e-05 is text"), ([1e-05], "[1e-05]")],
)
def test_format_value_fits_only_numbers(value: object, expected: str) -> None:
    """Text and JSON are left whole for the cell to cut: only a cut number changes meaning."""
    assert format_value(value, 4) == expected
