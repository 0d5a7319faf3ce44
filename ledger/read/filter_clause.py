"""A parsed filter as a SQLAlchemy condition over `runs`, for statements built with SQLAlchemy.

The text is `ledger.read.filter_sql`'s, compiled for the statement's own dialect,
with each value a bound parameter of the statement: a filter selects the same runs
here as in a listing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from ledger.read.filter_sql import where_sql
from ledger.read.sql_dialect import dialect_named

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

    from ledger.core.filters import Expr


class _Filter(ColumnElement[bool]):
    inherit_cache = False  # the cache key would have to hold the whole filter
    type = Boolean()

    def __init__(self, expr: Expr) -> None:
        self.expr = expr


def compile_filter(expr: Expr) -> ColumnElement[bool]:
    """The condition `expr` sets on the `runs` table of a statement."""
    return _Filter(expr)


@compiles(_Filter)
def _compile(element: _Filter, compiler: SQLCompiler, **kw: Any) -> str:
    def bind(value: object) -> str:
        return compiler.process(bindparam(None, value, unique=True), **kw)

    return f"({where_sql(element.expr, dialect_named(compiler.dialect.name), bind)})"
