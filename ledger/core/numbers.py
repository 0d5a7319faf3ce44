"""Numbers as text, fitted to a width by dropping digits, never the sign or the exponent.

A table cell that cuts `4.74103e-05` to `4.74103…` shows a number 100,000 times too
large next to `0.00013…`. Every param, metric and delta shown (the UI, `ledger list`,
`show`, `diff`) is formatted here, through `ledger.read.render.format_value`; the places
with a fixed width (the UI's runs table) pass it, the others print the usual form.
"""

from __future__ import annotations

SIGNIFICANT = 6
"""Significant digits of a float when there is room (`ledger show` prints this many)."""

FITS_ALL = 8
"""A width every float (`-1e-300`, `-0.0001`) and every int below 10**1000 fits at one digit."""


def format_number(value: int | float, width: int | None = None, *, plus: bool = False) -> str:
    """`value` in at most `width` characters: fewer mantissa digits, the same sign and exponent.

    Without a width, or when the usual form fits, the usual form: an int in full, a float
    to SIGNIFICANT digits (`nan`, `inf`, `-inf`, `-0` as Python spells them). A width
    below FITS_ALL may not hold even one digit: the one-digit form is returned anyway,
    wider than asked, because cutting it would be the very error this avoids.

    Args:
        value: an int or a float (bools are the caller's to spell).
        width: the most characters the text may take; None for no limit.
        plus: a sign on positive numbers too (metric deltas).
    """
    sign = "+" if plus else ""
    if isinstance(value, int):
        text = f"{value:{sign}d}"
        if width is None or len(text) <= width:
            return text
        for digits in range(SIGNIFICANT, 0, -1):
            text = _int_in_exponent_form(value, digits, sign)
            if len(text) <= width:
                break
        return text
    text = f"{value:{sign}.{SIGNIFICANT}g}"
    if width is None or len(text) <= width:
        return text
    for digits in range(SIGNIFICANT - 1, 0, -1):
        text = f"{value:{sign}.{digits}g}"
        if len(text) <= width:
            break
    return text


def _int_in_exponent_form(value: int, digits: int, sign: str) -> str:
    """`1.23e+20` for an int of any size, rounded exactly (an int can exceed a float's range)."""
    magnitude = abs(value)
    rounded = str(round(magnitude, digits - len(str(magnitude))))
    mantissa = (rounded[0] + "." + rounded[1:digits]).rstrip("0").rstrip(".")
    return f"{'-' if value < 0 else sign}{mantissa}e+{len(rounded) - 1:02d}"
