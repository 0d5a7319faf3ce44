"""What the listing's SQL text says differently on SQLite and on PostgreSQL.

The filter compiler and the listing write one SQL text through a `Dialect`; every
difference between the two databases is a field here, so none hides in the
compiler. SQLite's is run by the standard library's sqlite3 (`ledger list` and the
UI's first page, which must not import SQLAlchemy) and by SQLAlchemy alike.

Only constants of this module and of the compiler are formatted into SQL; every
value from a filter or a caller goes in as a parameter.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.core.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


@dataclass(frozen=True, slots=True)
class Dialect:
    """One database's spelling of the constructs the listing uses."""

    name: str
    placeholder: str
    """A positional parameter, as the driver takes it (sqlite3 `?`, psycopg `%s`)."""
    true: str
    false: str
    fold: str
    """`{}` with A-Z folded to a-z and nothing else: SQLite's `lower()` does exactly that,
    PostgreSQL's follows the server's locale (`École` to `école`), so there each letter
    is translated."""
    bytewise: str
    """`{}` ordered and compared by code point: SQLite compares text with memcmp,
    PostgreSQL by the database's collation unless told `COLLATE "C"`."""
    in_ids: str
    """`IN` one parameter holding any number of IDs (a listing with --all may hold
    100,000, past every limit on parameters)."""
    no_limit: str
    """What stands for "no limit" before an OFFSET."""

    def id_list(self, ids: Sequence[str]) -> object:
        """The value of the parameter in `in_ids`."""
        return json.dumps(list(ids)) if self.name == "sqlite" else list(ids)

    def binder(self) -> tuple[list[object], Callable[[object], str]]:
        """A list of arguments and the function that appends one and returns its placeholder."""
        args: list[object] = []

        def bind(value: object) -> str:
            args.append(value)
            return self.placeholder

        return args, bind


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    true="1",
    false="0",
    fold="lower({})",
    bytewise="{}",
    in_ids="IN (SELECT value FROM json_each(?))",
    no_limit="LIMIT -1",
)
POSTGRESQL = Dialect(
    name="postgresql",
    placeholder="%s",
    true="true",
    false="false",
    fold=f"translate({{}}, '{string.ascii_uppercase}', '{string.ascii_lowercase}')",
    bytewise='({}) COLLATE "C"',
    in_ids="= ANY(%s)",
    no_limit="",
)


def dialect_named(name: str) -> Dialect:
    """The dialect of a SQLAlchemy engine's `dialect.name`.

    Raises:
        StoreError: a database the ledger does not read.
    """
    for dialect in (SQLITE, POSTGRESQL):
        if dialect.name == name:
            return dialect
    raise StoreError(f"the ledger reads SQLite and PostgreSQL, not {name}", hint="check LEDGER_URL")
