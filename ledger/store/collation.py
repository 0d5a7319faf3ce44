"""Order and fold text the same on every backend, as SQLite does.

SQLite compares text with memcmp; PostgreSQL uses the database's collation, which on
most servers is a natural-language one (`en_US.UTF-8`: `a` < `B` < `b`, `_` ignored).
Sorting and `<`/`>` on text must not depend on how the team's server was set up, so
on PostgreSQL such expressions carry `COLLATE "C"`, which orders by code point.
"""

from __future__ import annotations

import string
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


class AsciiLower(ColumnElement[Any]):
    """A text expression with A-Z folded to a-z and nothing else, on every backend."""

    inherit_cache = True

    def __init__(self, inner: ColumnElement[Any]) -> None:
        self.inner = inner
        self.type = inner.type


def ascii_lower(inner: Any) -> ColumnElement[Any]:
    """Fold only ASCII letters (`ledger.read.filter_shared.ascii_lower` on the Python side).

    SQLite's `lower()` does exactly that; PostgreSQL's folds by the server's locale
    (`École` to `école` under `C.UTF-8`), so there the letters are translated one by one.
    """
    return AsciiLower(inner)


@compiles(AsciiLower)
def _lower(element: AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.inner, **kw)})"


@compiles(AsciiLower, "postgresql")
def _translate(element: AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    upper, lower = string.ascii_uppercase, string.ascii_lowercase
    return f"translate({compiler.process(element.inner, **kw)}, '{upper}', '{lower}')"
