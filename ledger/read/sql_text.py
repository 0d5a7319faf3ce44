"""The listing's SQL as text, for the stdlib `sqlite3` paths (`ledger.read.list_sqlite`, `ledger.read.windows_sqlite`).

The filter language is compiled here to the same SQL `ledger.read.sql_orm` has
SQLAlchemy build for SQLite, without importing SQLAlchemy (0.3-0.6 s).
`tests/integration/test_fast_list.py` and `test_ui_fast.py` run every filter of
the language through both and require the same runs in the same order: a new
filter form goes into both compilers and into the store tests' FILTER_CASES.

Only constants of this module are formatted into SQL; every value from a filter is
a `?` parameter.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, assert_never, cast

from ledger.core.filters import And, Compare, HasKey, HasTag, Not, Or, Text
from ledger.read.filter_shared import (
    as_float,
    ascii_lower,
    balanced,
    contains_pattern,
    exit_code_value,
    glob_to_like,
    requires_key,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.core.filters import Expr, Field, Op, SortKey, Value

IN_IDS = "IN (SELECT value FROM json_each(?))"
"""One parameter for any number of IDs (a listing with --all may hold 100,000)."""

_RUN_COLUMNS = {
    "id": "runs.id",
    "name": "runs.name",
    "status": "runs.status",
    "branch": "runs.branch",
    "commit": 'runs."commit"',
    "source": "runs.source",
    "host": "runs.host",
    "user": 'runs."user"',
    "exit_code": "runs.exit_code",
    "started": "runs.started_at",
    "duration": "(runs.ended_at - runs.started_at)",
}

SUMMARY = 'SELECT runs.id, runs.name, runs.status, runs.source, runs.started_at, runs.ended_at, runs.exit_code, runs."commit", runs.branch, runs.dirty FROM runs'
"""The columns of a `RunSummary`, in the order `fast_list.summaries` reads them."""


def page_sql(
    where: Expr | None, sort: Sequence[SortKey], limit: int | None, *, include_archived: bool
) -> tuple[str, list[object]]:
    """The SELECT of one page of summaries, with its arguments in the order of their `?`."""
    joins: list[str] = []
    orders: list[str] = []
    args: list[object] = []
    for position, key in enumerate(sort):
        field = key.field
        if field.scope == "run":
            column = _RUN_COLUMNS[field.name]
        else:
            alias = f"sort_{position}"
            table, value = ("metrics", "value") if field.scope == "metrics" else ("params", "num")
            inner = where is not None and requires_key(where, field)
            joins.append(
                f"{'JOIN' if inner else 'LEFT OUTER JOIN'} {table} AS {alias} "
                f"ON {alias}.run_id = runs.id AND {alias}.key = ?"
            )
            args.append(field.name)
            column = f"{alias}.{value}"
        orders.append(f"{column} {'DESC' if key.descending else 'ASC'} NULLS LAST")
    orders += ["runs.started_at DESC", "runs.id DESC"]
    sql = " ".join([SUMMARY, *joins]) + _where(where, args, include_archived=include_archived)
    sql += " ORDER BY " + ", ".join(orders)
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return sql, args


def count_sql(where: Expr | None, *, include_archived: bool) -> tuple[str, list[object]]:
    """The count of the runs `page_sql` pages through (without its limit)."""
    args: list[object] = []
    return "SELECT count(*) FROM runs" + _where(where, args, include_archived=include_archived), args  # noqa: S608


def _where(where: Expr | None, args: list[object], *, include_archived: bool) -> str:
    tests = []
    if where is not None:
        tests.append(_condition(where, args))
    if not include_archived:
        tests.append("runs.archived IS 0")
    return " WHERE " + " AND ".join(tests) if tests else ""


def _condition(expr: Expr, args: list[object]) -> str:
    """SQL for a filter, appending its arguments; the semantics of `filter_sql.compile_filter`."""
    match expr:
        case And(items):
            return balanced([_condition(i, args) for i in items], lambda a, b: f"({a} AND {b})")
        case Or(items):
            return balanced([_condition(i, args) for i in items], lambda a, b: f"({a} OR {b})")
        case Not(item):
            # SQL's NOT of NULL is NULL: a run without a branch must match `not branch:main`.
            return f"(NOT coalesce({_condition(item, args)}, 0))"
        case HasTag(tag):
            args.append(tag)
            return "EXISTS (SELECT 1 FROM tags WHERE tags.run_id = runs.id AND tags.tag = ?)"
        case HasKey(field):
            args.append(field.name)
            table = "metrics" if field.scope == "metrics" else "params"
            return f"EXISTS (SELECT 1 FROM {table} WHERE {table}.run_id = runs.id AND {table}.key = ?)"  # noqa: S608
        case Text(text):
            args.append(contains_pattern(text))
            return "(lower(coalesce(runs.name, '')) LIKE ? ESCAPE '/')"
        case Compare(field, op, value):
            return _compare(field, op, value, args)
    assert_never(expr)


def _compare(field: Field, op: Op, value: Value, args: list[object]) -> str:
    if field.scope == "run" and field.name == "exit_code" and isinstance(value, int):
        return _test(_RUN_COLUMNS[field.name], op, exit_code_value(value), args)
    if field.scope == "run":
        return _test(_RUN_COLUMNS[field.name], op, value, args)
    table = "metrics" if field.scope == "metrics" else "params"
    args.append(field.name)
    test = _metric_test(op, value, args) if table == "metrics" else _param_test(op, value, args)
    return f"EXISTS (SELECT 1 FROM {table} WHERE {table}.run_id = runs.id AND {table}.key = ? AND {test})"  # noqa: S608


def _metric_test(op: Op, value: Value, args: list[object]) -> str:
    if value is None:
        return "1" if op == "!=" else "0"
    number = as_float(cast("int | float", value))  # the parser lets only numbers through
    if math.isnan(number):  # NaN is stored as NULL (see recorder._db_float); nothing orders with it
        return {"=": "metrics.value IS NULL", "!=": "metrics.value IS NOT NULL"}.get(op, "0")
    return _test("metrics.value", op, number, args)


def _param_test(op: Op, value: Value, args: list[object]) -> str:
    if value is None:
        return "params.kind = 'null'" if op == "=" else "params.kind != 'null'"
    if isinstance(value, bool):
        args.append("true" if value else "false")
        if op == "=":
            return "(params.kind = 'bool' AND params.text = ?)"
        return "(params.kind != 'bool' OR params.text != ?)"
    if isinstance(value, (int, float)) and op not in ("~", "!~"):
        number = as_float(value)
        if math.isnan(number):  # a NaN param is a float without a num (see param_values.to_row)
            nan = "(params.kind = 'float' AND params.num IS NULL)"
            return {"=": nan, "!=": f"(NOT {nan})"}.get(op, "0")
        return _test("params.num", op, number, args)  # only int and float params have a num
    return _test("params.text", op, str(value), args)


def _test(column: str, op: Op, value: Value, args: list[object]) -> str:
    if op in ("~", "!~"):
        args.append(ascii_lower(glob_to_like(str(value))))
        like = f"lower({column}) LIKE ? ESCAPE '\\'"
        return like if op == "~" else f"({column} IS NULL OR NOT ({like}))"
    if value is None:
        return f"{column} IS NULL" if op == "=" else f"{column} IS NOT NULL"
    args.append(value)
    if op == "!=":
        return f"({column} != ? OR {column} IS NULL)"
    return f"{column} {op} ?"
