"""What both compilers of the filter language agree on: `ledger.filter_sql` (SQLAlchemy,
every backend) and `ledger.fast_sql` (SQLite through the standard library)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.filters import And, Compare, HasKey, Or

if TYPE_CHECKING:
    from ledger.filters import Expr, Field

TEXT_COLUMNS = frozenset({"id", "name", "status", "branch", "commit", "source", "host", "user"})
"""Run fields holding text: compared and sorted by code point on every backend."""


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
