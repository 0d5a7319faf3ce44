"""Merging a run both ledgers hold: the target's copy brought up to the source's.

Tags and commit links are united, notes joined, missing chunks added, and the fuller
record's values taken when the target's copy is still `running`, so merging twice
changes nothing the second time. A copy the target holds as ended is sealed
(`ledger.store.transfer` refuses a different record for it).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from ledger.store.evidence import is_ended
from ledger.store.record_rows import (
    MERGED_TABLES,
    SET_TABLES,
    bulk_insert,
    digest_of,
    insert_chunks,
    read_bundle,
    table,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ledger.store.record_rows import Bundle, ChunkKey

RUN_LOCAL_COLUMNS = ("id", "note", "archived", "owner")
"""Run columns never overwritten by a merge: the key, the note (merged), the archive mark
(a reader's choice about their own ledger, copied only with a new run), the owner (each
server sets its own: the role that brought the run in)."""


def merge_notes(target: str | None, source: str | None) -> str | None:
    """Join two notes of one run so that merging again, either way, changes nothing.

    Lines are the unit: a side holding every line of the other wins as it is;
    otherwise the source's new lines are appended to the target's note.
    """
    if not source or source == target:
        return target
    if not target:
        return source
    have, new = target.split("\n"), source.split("\n")
    if set(have) <= set(new):
        return source
    extra = [line for line in new if line not in have]
    return target if not extra else "\n".join([*have, *extra])


def fresher(source: dict[str, Any], target: dict[str, Any]) -> bool:
    """Whether the source's copy of a run has got further than the target's (still running)."""
    if is_ended(target["status"]):
        return False
    if is_ended(source["status"]):
        return True
    return (source["heartbeat_at"] or 0.0) > (target["heartbeat_at"] or 0.0)


def merge_run(conn: Connection, src: Bundle, dst: Bundle, run_id: str) -> bool:
    """Bring the target's copy of one run up to the source's; whether anything changed.

    A copy the target holds as ended only gains annotations. Otherwise the record is
    merged first and the run row last, as its end, with the digest of what the target
    then holds: a team server lets a run's record be written only while the run is open
    (`ledger.store.policies`).
    """
    s, d = src.runs[run_id], dst.runs[run_id]
    wins = fresher(s, d)
    sealed = is_ended(d["status"])
    changed = False
    for name in (*MERGED_TABLES, *SET_TABLES):
        if sealed and name in MERGED_TABLES:
            continue
        changed |= _merge_rows(
            conn,
            name,
            src.rows[name].get(run_id, []),
            dst.rows[name].get(run_id, []),
            overwrite=wins and name in MERGED_TABLES,
        )
    if not sealed:
        changed |= _merge_series(conn, run_id, src.series.get(run_id, {}), dst.series.get(run_id, {}))
    changes: dict[str, Any] = {}
    if wins:
        changes = {c: v for c, v in s.items() if c not in RUN_LOCAL_COLUMNS and v != d[c]}
        if is_ended(s["status"]):
            changes["digest"] = digest_of(read_bundle(conn, [run_id]), run_id, **changes)
    note = merge_notes(d["note"], s["note"])
    if note != d["note"]:
        changes["note"] = note
    if changes:
        conn.execute(update(table("runs")).where(table("runs").c.id == run_id).values(**changes))
    return changed or bool(changes)


def _merge_rows(
    conn: Connection,
    name: str,
    src_rows: list[dict[str, Any]],
    dst_rows: list[dict[str, Any]],
    *,
    overwrite: bool,
) -> bool:
    rows_table = table(name)
    pk = [c.name for c in rows_table.primary_key.columns]
    have = {tuple(r[c] for c in pk): r for r in dst_rows}
    missing = [r for r in src_rows if tuple(r[c] for c in pk) not in have]
    if missing:
        bulk_insert(conn, rows_table, missing)
    changed = bool(missing)
    if not overwrite:
        return changed
    for row in src_rows:
        old = have.get(tuple(row[c] for c in pk))
        if old is None or old == row or (name == "metrics" and not _newer_final(row, old)):
            continue
        where = [rows_table.c[c] == row[c] for c in pk]
        conn.execute(update(rows_table).where(*where).values({c: v for c, v in row.items() if c not in pk}))
        changed = True
    return changed


def _newer_final(source: dict[str, Any], target: dict[str, Any]) -> bool:
    """A final metric value moves to the newest step; values read from files always win."""
    return source["step"] is None or target["step"] is None or target["step"] <= source["step"]


def _merge_series(
    conn: Connection, run_id: str, src: dict[str, list[ChunkKey]], dst: dict[str, list[ChunkKey]]
) -> bool:
    new_keys = {k: v for k, v in src.items() if k not in dst}
    extra: dict[str, list[ChunkKey]] = {}
    for key, parts in src.items():
        if key in dst:
            have = Counter(dst[key])
            wanted = []
            for part in parts:
                if have[part]:
                    have[part] -= 1
                else:
                    wanted.append(part)
            if wanted:
                extra[key] = wanted
    if new_keys:
        insert_chunks(conn, {run_id: new_keys}, new_series=True)
    if extra:
        insert_chunks(conn, {run_id: extra}, new_series=False)
    return bool(new_keys or extra)
