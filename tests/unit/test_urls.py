from __future__ import annotations

from pathlib import Path

import pytest

from ledger.core.urls import sqlite_file, sqlite_url


def test_a_plain_sqlite_url_names_its_file(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"

    assert sqlite_file(sqlite_url(db)) == db
    assert sqlite_file("sqlite:///relative/ledger.db") == Path("relative/ledger.db")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        "sqlite://",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:///file:/tmp/ledger.db?mode=ro&uri=true",
        "sqlite:////tmp/ledger.db?timeout=5",
        "sqlite+pysqlite:////tmp/ledger.db",
        "/tmp/ledger.db",
    ],
)
def test_anything_but_a_plain_file_url_names_no_file(url: str) -> None:
    assert sqlite_file(url) is None
