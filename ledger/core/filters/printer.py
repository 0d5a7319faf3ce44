"""Print a filter AST canonically, so that parsing the result gives the same AST back."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import assert_never

from ledger.core.filters.nodes import And, Compare, Expr, Field, HasKey, HasTag, Not, Or, Text, Value
from ledger.core.filters.words import BARE_RE, KEY_RE, KEYWORDS, literal, quote


def to_text(expr: Expr) -> str:
    """The filter `expr` as text.

    Only the tests call it for now: the round trip is how they hold the parser to
    one reading of every filter.
    """
    match expr:
        case And(items):
            return " and ".join(_wrap(item, loose=(Or,)) for item in items)
        case Or(items):
            return " or ".join(to_text(item) for item in items)
        case Not(item):
            return f"not {_wrap(item, loose=(And, Or))}"
        case Compare(field, op, value):
            return f"{format_field(field)} {op} {_format_value(field, value)}"
        case HasTag(tag):
            return f"tag:{_format_str(tag)}"
        case HasKey(field):
            return f"has:{format_field(field)}"
        case Text(text):
            return _format_str(text)
    assert_never(expr)


def format_field(field: Field) -> str:
    """A field as a filter names it: `metrics.acc`, `params."val loss"`, `duration`."""
    if field.scope == "run":
        return field.name
    key = field.name if KEY_RE.fullmatch(field.name) else quote(field.name)
    return f"{field.scope}.{key}"


def _wrap(expr: Expr, *, loose: tuple[type[And | Or], ...]) -> str:
    """Parenthesise an operand that binds more loosely than its context."""
    return f"({to_text(expr)})" if isinstance(expr, loose) else to_text(expr)


def _format_value(field: Field, value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and field == Field("run", "started"):
        moment = datetime.fromtimestamp(value, UTC)
        if moment.time() == time():
            return moment.date().isoformat()
        return moment.isoformat().replace("+00:00", "Z")
    return repr(value) if isinstance(value, int | float) else _format_str(value)


def _format_str(text: str) -> str:
    """Bare when it reads back as this same string, quoted otherwise."""
    bare = BARE_RE.fullmatch(text) and text.lower() not in KEYWORDS
    return text if bare and isinstance(literal(text), str) else quote(text)
