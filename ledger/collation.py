"""Order text byte for byte on every backend, as SQLite does.

SQLite compares text with memcmp; PostgreSQL uses the database's collation, which on
most servers is a natural-language one (`en_US.UTF-8`: `a` < `B` < `b`, `_` ignored).
Sorting and `<`/`>` on text must not depend on how the team's server was set up, so
on PostgreSQL such expressions carry `COLLATE "C"`, which orders by code point.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler


class Bytewise(ColumnElement[Any]):
    """A text expression ordered by code point on every backend."""

    inherit_cache = True

    def __init__(self, inner: ColumnElement[Any]) -> None:
        self.inner = inner
        self.type = inner.type


def bytewise(inner: Any) -> ColumnElement[Any]:
    """Wrap a text column or expression so it sorts and compares by code point."""
    return Bytewise(inner)


@compiles(Bytewise)
def _plain(element: Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.inner, **kw)


@compiles(Bytewise, "postgresql")
def _c_collation(element: Bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.inner, **kw)}) COLLATE "C"'
