"""Whole run records as plain rows: read from one ledger, written into another.

Rows are dicts keyed by column name, the same on both sides, so a copy can compare
the source's and the target's rows of a run before writing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select

from ledger.core.errors import StoreError
from ledger.store import tables as models
from ledger.store.evidence import RECORD_ROW_TABLES, record_digest

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Table
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

MERGED_TABLES = RECORD_ROW_TABLES
"""Per-run tables whose rows the fuller record's copy overwrites."""

SET_TABLES = ("tags", "commit_links")
"""Per-run tables that are sets: merging unites them, nothing is overwritten."""

ChunkKey = tuple[int, int, int, str, bytes]
"""A chunk as compared: count, first step, last step, codec, payload."""


@dataclass(slots=True)
class Bundle:
    """Every row of a batch of runs, as plain dicts keyed the same way on both sides."""

    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    """table -> run ID -> rows."""
    series: dict[str, dict[str, list[ChunkKey]]] = field(default_factory=dict)
    """run ID -> series key -> chunks in write order (a series may have none)."""


def digest_of(bundle: Bundle, run_id: str, **end: Any) -> str:
    """The record digest (`ledger.store.evidence`) of one run of a bundle, with `end`'s
    run columns as they will be."""
    return record_digest(
        {**bundle.runs[run_id], **end},
        {name: bundle.rows.get(name, {}).get(run_id, []) for name in RECORD_ROW_TABLES},
        bundle.series.get(run_id, {}),
    )


def table(name: str) -> Table:
    """The table `name` of the ledger's schema."""
    return models.Base.metadata.tables[name]


def read_bundle(session: Session | Connection, ids: Sequence[str]) -> Bundle:
    """Every row of the runs `ids` (a run the ledger lacks is simply absent)."""
    bundle = Bundle()
    if not ids:
        return bundle
    runs = table("runs")
    for row in session.execute(select(runs).where(runs.c.id.in_(ids))).mappings():
        bundle.runs[row["id"]] = dict(row)
    for name in (*MERGED_TABLES, *SET_TABLES, "reproductions"):
        per_run_table = table(name)
        per_run: dict[str, list[dict[str, Any]]] = {}
        for row in session.execute(select(per_run_table).where(per_run_table.c.run_id.in_(ids))).mappings():
            per_run.setdefault(row["run_id"], []).append(dict(row))
        bundle.rows[name] = per_run
    series, chunks = table("series"), table("metric_chunks")
    stmt = (
        select(
            series.c.run_id,
            series.c.key,
            chunks.c.count,
            chunks.c.first_step,
            chunks.c.last_step,
            chunks.c.codec,
            chunks.c.payload,
        )
        .select_from(series.outerjoin(chunks, chunks.c.series_id == series.c.id))
        .where(series.c.run_id.in_(ids))
        .order_by(series.c.run_id, series.c.key, chunks.c.id)
    )
    for run_id, key, count, first, last, codec, payload in session.execute(stmt):
        keyed = bundle.series.setdefault(run_id, {}).setdefault(key, [])
        if count is not None:
            keyed.append((count, first, last, codec, bytes(payload)))
    return bundle


def bulk_insert(conn: Connection, into: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows at once.

    psycopg's executemany sends one INSERT per row (pipelined); COPY, inside the
    same transaction, is several times faster on PostgreSQL. SQLite's executemany
    is already a tight loop in C, so it keeps it, and so does a table under
    row-level security for this role (PostgreSQL refuses COPY FROM into one).
    """
    if not rows:
        return
    dialect = conn.dialect
    if (dialect.name, dialect.driver) != ("postgresql", "psycopg") or conn.scalar(
        select(func.row_security_active(into.name))
    ):
        conn.execute(insert(into), rows)
        return
    from psycopg import sql

    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(into.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    from psycopg import Error

    raw = conn.connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except Error as e:  # the driver's own, below SQLAlchemy's translation
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StoreError(f"ledger database refused a write: {first}") from e


def insert_chunks(
    conn: Connection, wanted: dict[str, dict[str, list[ChunkKey]]], *, new_series: bool
) -> None:
    """Add chunks (in their write order), creating the series the target lacks."""
    if not any(wanted.values()):
        return
    series = table("series")
    if new_series:
        rows = [{"run_id": run_id, "key": key} for run_id, keys in wanted.items() for key in keys]
        bulk_insert(conn, series, rows)
    ids: dict[tuple[str, str], int] = {}
    for run_id, key, series_id in conn.execute(
        select(series.c.run_id, series.c.key, series.c.id).where(series.c.run_id.in_(list(wanted)))
    ):
        ids[(run_id, key)] = series_id
    chunks = [
        {
            "series_id": ids[(run_id, key)],
            "count": count,
            "first_step": first,
            "last_step": last,
            "codec": codec,
            "payload": payload,
        }
        for run_id, keys in wanted.items()
        for key, parts in keys.items()
        for count, first, last, codec, payload in parts
    ]
    if chunks:
        bulk_insert(conn, table("metric_chunks"), chunks)
