"""The filter language's AST: what the parser produces and every SQL compiler reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

Scope: TypeAlias = Literal["metrics", "params", "run"]
Op: TypeAlias = Literal["=", "!=", "<", "<=", ">", ">=", "~", "!~"]
Value: TypeAlias = float | int | str | bool | None

RUN_FIELDS = (
    "id", "name", "status", "branch", "commit", "source",
    "host", "user", "exit_code", "duration", "started",
)  # fmt: skip
"""Run attributes a filter or sort key names without a `metrics.`/`params.` scope."""
STATUSES = ("running", "finished", "failed", "crashed", "interrupted")


@dataclass(frozen=True, slots=True)
class Field:
    """A metric or param key, or a run attribute (`scope="run"`, one of RUN_FIELDS)."""

    scope: Scope
    name: str


@dataclass(frozen=True, slots=True)
class Compare:
    """`field op value`; `~`/`!~` take a str glob in which only `*` and `?` are special.

    Run attributes arrive normalised so the SQL compiler never parses text: `duration`
    as float seconds, `started` as a float UTC timestamp, `exit_code` as int, `status`
    lower-cased and known. `None` (typed `null`) only meets `=` and `!=`.
    """

    field: Field
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class HasTag:
    """The run carries exactly this tag (`tag:baseline`)."""

    tag: str


@dataclass(frozen=True, slots=True)
class HasKey:
    """The run logged this metric or param at all, whatever its value (`has:m.acc`)."""

    field: Field


@dataclass(frozen=True, slots=True)
class Text:
    """A lone word: the run name contains it, case-insensitively, as in a search box."""

    text: str


@dataclass(frozen=True, slots=True)
class And:
    """Every item holds; the parser flattens, so no item is itself an And."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Some item holds; the parser flattens, so no item is itself an Or."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not hold."""

    item: Expr


Expr: TypeAlias = Compare | HasTag | HasKey | Text | And | Or | Not


@dataclass(frozen=True, slots=True)
class SortKey:
    """One `--sort` key."""

    field: Field
    descending: bool = False


def fields_used(expr: Expr) -> tuple[Field, ...]:
    """The distinct metrics and params fields an expression reads, in order.

    The TUI shows them as columns, and `ledger list` as table columns.
    """
    if isinstance(expr, And | Or):
        nested = (field for item in expr.items for field in fields_used(item))
        return tuple(dict.fromkeys(nested))
    if isinstance(expr, Not):
        return fields_used(expr.item)
    if isinstance(expr, Compare | HasKey) and expr.field.scope != "run":
        return (expr.field,)
    return ()


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
