"""Compile the filter language's AST to one SQL text, for SQLite and PostgreSQL alike.

Both read paths run this text: the standard library's sqlite3 on a SQLite file, and
SQLAlchemy on any ledger (`ledger.read.queries`), so a filter means the same
whichever path answers it. What the two databases spell differently comes from the
`Dialect`; every value goes in through `bind`, which returns its placeholder.
"""

from __future__ import annotations

import math
import string
from typing import TYPE_CHECKING, TypeVar, assert_never, cast

from ledger.core.filters import And, Compare, HasKey, HasTag, Not, Or, Text, requires_key

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ledger.core.filters import Expr, Field, Op, SortKey, Value
    from ledger.read.sql_dialect import Dialect

T = TypeVar("T")

RUN_COLUMNS = {
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
TEXT_COLUMNS = frozenset({"id", "name", "status", "branch", "commit", "source", "host", "user"})
"""Run fields holding text: compared and sorted by code point on every backend."""
EXIT_CODE_RANGE = (-(2**31), 2**31 - 1)
"""What the `exit_code` column holds on every backend (a 4-byte integer on PostgreSQL)."""

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def where_sql(expr: Expr, dialect: Dialect, bind: Callable[[object], str]) -> str:
    """A condition over `runs` for a parsed filter.

    Metric, param and tag tests become correlated `EXISTS` on their primary keys
    (run_id, key): they compose with `or`/`not` without join fan-out, and unlike
    `IN (SELECT ...)` SQLite does not build the whole matching set first.
    """
    return _Compiler(dialect, bind).condition(expr)


def order_sql(
    sort: Sequence[SortKey], where: Expr | None, dialect: Dialect, bind: Callable[[object], str]
) -> tuple[list[str], list[str]]:
    """The joins and the ORDER BY terms of `sort`, then newest first.

    A metric or param key is joined to sort by. Runs without it sort last, so the
    join is an outer one, unless `where` already requires the key: then an inner
    join gives the same rows (one per run, the key being part of the primary key)
    and lets the database walk `ix_metrics_key_value` in order and stop at the
    limit, instead of testing and sorting every run.
    """
    joins: list[str] = []
    orders: list[str] = []
    for position, key in enumerate(sort):
        field = key.field
        if field.scope == "run":
            column = RUN_COLUMNS[field.name]
            if field.name in TEXT_COLUMNS:
                column = dialect.bytewise.format(column)
        else:
            # Params sort by their numeric value; text params sort after every number.
            alias = f"sort_{position}"
            table, value = ("metrics", "value") if field.scope == "metrics" else ("params", "num")
            inner = where is not None and requires_key(where, field)
            joins.append(
                f"{'JOIN' if inner else 'LEFT OUTER JOIN'} {table} AS {alias} "
                f"ON {alias}.run_id = runs.id AND {alias}.key = {bind(field.name)}"
            )
            column = f"{alias}.{value}"
        orders.append(f"{column} {'DESC' if key.descending else 'ASC'} NULLS LAST")
    return joins, [*orders, "runs.started_at DESC", "runs.id DESC"]


class _Compiler:
    def __init__(self, dialect: Dialect, bind: Callable[[object], str]) -> None:
        self.dialect, self.bind = dialect, bind

    def condition(self, expr: Expr) -> str:
        match expr:
            case And(items):
                return balanced([self.condition(i) for i in items], lambda a, b: f"({a} AND {b})")
            case Or(items):
                return balanced([self.condition(i) for i in items], lambda a, b: f"({a} OR {b})")
            case Not(item):
                # SQL's NOT of NULL is NULL: a run without a branch must match `not branch:main`.
                return f"(NOT coalesce({self.condition(item)}, {self.dialect.false}))"
            case HasTag(tag):
                tag_is = f"tags.tag = {self.bind(tag)}"
                return f"EXISTS (SELECT 1 FROM tags WHERE tags.run_id = runs.id AND {tag_is})"  # noqa: S608
            case HasKey(field):
                return self._exists(field, None)
            case Text(text):
                name = self.dialect.fold.format("coalesce(runs.name, '')")
                return f"({name} LIKE {self.bind(contains_pattern(text))} ESCAPE '/')"
            case Compare(field, op, value):
                return self._compare(field, op, value)
        assert_never(expr)

    def _exists(self, field: Field, test: Callable[[], str] | None) -> str:
        """A metric or param row of the run with key `field.name` (and, if given, `test`)."""
        table = "metrics" if field.scope == "metrics" else "params"
        key = self.bind(field.name)
        where = f"{table}.run_id = runs.id AND {table}.key = {key}"
        return f"EXISTS (SELECT 1 FROM {table} WHERE {where}{'' if test is None else ' AND ' + test()})"  # noqa: S608

    def _compare(self, field: Field, op: Op, value: Value) -> str:
        if field.scope == "run" and field.name == "exit_code" and isinstance(value, int):
            return self._test(RUN_COLUMNS[field.name], op, exit_code_value(value))
        if field.scope == "run":
            return self._test(RUN_COLUMNS[field.name], op, value)
        if field.scope == "metrics":
            return self._exists(field, lambda: self._metric_test(op, value))
        return self._exists(field, lambda: self._param_test(op, value))

    def _metric_test(self, op: Op, value: Value) -> str:
        if value is None:
            return self.dialect.true if op == "!=" else self.dialect.false
        number = as_float(cast("int | float", value))  # the parser lets only numbers through
        if math.isnan(number):  # NaN is stored as NULL; nothing orders with it
            return {"=": "metrics.value IS NULL", "!=": "metrics.value IS NOT NULL"}.get(
                op, self.dialect.false
            )
        return self._test("metrics.value", op, number)

    def _param_test(self, op: Op, value: Value) -> str:
        if value is None:
            return "params.kind = 'null'" if op == "=" else "params.kind != 'null'"
        if isinstance(value, bool):
            text = self.bind("true" if value else "false")
            if op == "=":
                return f"(params.kind = 'bool' AND params.text = {text})"
            return f"(params.kind != 'bool' OR params.text != {text})"
        if isinstance(value, (int, float)) and op not in ("~", "!~"):
            number = as_float(value)
            if math.isnan(number):  # a NaN param is a float without a num
                nan = "(params.kind = 'float' AND params.num IS NULL)"
                return {"=": nan, "!=": f"(NOT {nan})"}.get(op, self.dialect.false)
            return self._test("params.num", op, number)  # only int and float params have a num
        return self._test("params.text", op, str(value))

    def _test(self, column: str, op: Op, value: Value) -> str:
        if op in ("~", "!~"):
            pattern = self.bind(ascii_lower(glob_to_like(str(value))))
            like = f"{self.dialect.fold.format(column)} LIKE {pattern} ESCAPE '\\'"
            return like if op == "~" else f"({column} IS NULL OR NOT ({like}))"
        if value is None:
            return f"{column} IS NULL" if op == "=" else f"{column} IS NOT NULL"
        if op == "!=":
            bound = self.bind(value)
            return f"({column} != {bound} OR {column} IS NULL)"
        if isinstance(value, str) and op != "=":
            column = self.dialect.bytewise.format(column)  # whatever the server's collation
        return f"{column} {op} {self.bind(value)}"


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
    """Fold A-Z only: what the SQL side of `~` and a name search fold (`Dialect.fold`).

    Python's `str.lower()` folds `É` as neither database does, and can even change a
    string's length.
    """
    return text.translate(_ASCII_LOWER)


def contains_pattern(text: str) -> str:
    """The LIKE pattern (escape `/`) of a name search: `text` anywhere, folded, taken literally."""
    escaped = ascii_lower(text).replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


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
