"""Ledger URLs that name a plain SQLite file.

Standard library only: the fast read path and the git hooks ask this before (or
instead of) importing SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path

SQLITE_PREFIX = "sqlite:///"


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL; None for anything else.

    A server, an in-memory database, or a URL with options (`?mode=ro&uri=true`,
    where the path is not the text after the prefix) is not a plain file: callers
    that stat, create, move or read the file directly leave it to SQLAlchemy.
    """
    if not url.startswith(SQLITE_PREFIX) or "?" in url:
        return None
    path = url.removeprefix(SQLITE_PREFIX)
    if path in ("", ":memory:"):
        return None
    return Path(path)


def sqlite_url(path: Path | str) -> str:
    """The URL of the SQLite file at `path`."""
    return f"{SQLITE_PREFIX}{path}"
