"""What both compilers of the filter language agree on: `ledger.read.sql_orm` (SQLAlchemy,
every backend) and `ledger.read.sql_text` (SQLite through the standard library)."""

from __future__ import annotations

import math
import string
from typing import TYPE_CHECKING, TypeVar

from ledger.core.filters import And, Compare, HasKey, Or

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ledger.core.filters import Expr, Field

T = TypeVar("T")

TEXT_COLUMNS = frozenset({"id", "name", "status", "branch", "commit", "source", "host", "user"})
"""Run fields holding text: compared and sorted by code point on every backend."""


EXIT_CODE_RANGE = (-(2**31), 2**31 - 1)
"""What the `exit_code` column holds on every backend (a 4-byte integer on PostgreSQL)."""

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def requires_key(expr: Expr, field: Field) -> bool:
    """Whether every run matching `expr` has a row for metric or param `field`.

    Every test of a metric or param value, and `has:`, exists only where the key does;
    `not` can hold without it, and `or` needs the key in each branch.
    """
    match expr:
        case And(items):
            return any(requires_key(i, field) for i in items)
        case Or(items):
            return all(requires_key(i, field) for i in items)
        case Compare(f) | HasKey(f):
            return f.scope != "run" and f == field
    return False


def glob_to_like(glob: str) -> str:
    """`*`/`?` become `%`/`_`; the LIKE wildcards already in the text are escaped."""
    out = []
    for char in glob:
        if char in "%_\\":
            out.append("\\" + char)
        elif char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        else:
            out.append(char)
    return "".join(out)


def ascii_lower(text: str) -> str:
    """Fold A-Z only: what the SQL side of `~` and a name search fold on every backend.

    SQLite's `lower()` knows ASCII only, PostgreSQL's follows the server's locale; Python's
    `str.lower()` folds `É` as neither may, and can even change a string's length.
    """
    return text.translate(_ASCII_LOWER)


def as_float(value: int | float) -> float:
    """A filter number as a float column compares it: an int beyond a float's range is
    +/-inf, as a float literal beyond it (`1e400`) already is."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def exit_code_value(value: int) -> int | float:
    """An `exit_code` value every backend can bind: one past the column's range is
    compared as a float, which orders it right against every code the column holds."""
    low, high = EXIT_CODE_RANGE
    return value if low <= value <= high else as_float(value)


def balanced(items: Sequence[T], join: Callable[[T, T], T]) -> T:
    """Join many operands as a balanced tree, never a chain.

    SQLite parses `a AND b AND c ...` into a tree as deep as the chain is long, and
    refuses one deeper than 1,000; pairs of halves keep the depth at log2 of the count.
    """
    if len(items) == 1:
        return items[0]
    middle = len(items) // 2
    return join(balanced(items[:middle], join), balanced(items[middle:], join))


def contains_pattern(text: str) -> str:
    """The LIKE pattern (escape `/`) of a name search: `text` anywhere, folded, taken literally."""
    escaped = ascii_lower(text).replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"
