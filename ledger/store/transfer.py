"""Copy whole run records from one ledger to another, merging what both already hold.

Every part of a record travels: the run row, tags, params, final metrics, series
chunks, data hashes, outputs, log, commit links, reproductions and the environment
it points at. A run the target lacks is inserted row for row; a run both hold is
merged (tags and links united, notes joined, missing chunks added, and the fuller
record's values taken when the target's copy is behind, e.g. still `running`), so
copying twice changes nothing the second time (`ledger.store.merge`). Each batch of runs is one
transaction on the target: an interrupted copy never leaves half a run.

A run the target holds as ended is sealed: only its annotations merge. A copy whose
record differs from it (`ledger.store.evidence`) is refused for that run, and a copy
still `running` there is simply behind. A run is written as a run is recorded: its
row as `running`, then its record, then its end and digest, so a team server's
policies (`ledger.store.policies`) hold a sync to the rules a run is held to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select, update

from ledger.core.errors import StoreError, StoreUnreachableError
from ledger.store import tables as models
from ledger.store.evidence import is_ended
from ledger.store.merge import fresher, merge_run
from ledger.store.record_rows import (
    MERGED_TABLES,
    SET_TABLES,
    Bundle,
    bulk_insert,
    digest_of,
    insert_chunks,
    read_bundle,
    table,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.engine import Connection

    from ledger.store.engine import Store

BATCH = 250
"""Runs read, compared and written per target transaction."""

HANDLED_TABLES = frozenset(
    {
        "runs",
        "environments",
        "series",
        "metric_chunks",
        "reproductions",
        "annotations",
        *MERGED_TABLES,
        *SET_TABLES,
    }
)
"""Every table a run record lives in; a test fails when a new table is not listed.
(`annotations` stays where it was written: each ledger's server attributes its own.)"""

_RUN_ID = table("runs").c.id


@dataclass(slots=True)
class CopyReport:
    """What a copy did."""

    copied: int = 0
    """Runs the target did not have."""
    updated: int = 0
    """Runs both had, where the target gained something."""
    unchanged: int = 0
    """Runs both had already, identical."""
    reproductions_skipped: int = 0
    """Reproductions not copied because their original run is not in the target."""
    copied_ids: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    """Runs not copied, each with why: a value over its column's limit (`ledger.core.limits`;
    a ledger written before the limits may hold one), a write the target refused, or a
    record that differs from the one the target holds as ended."""

    @property
    def total(self) -> int:
        """Runs looked at."""
        return self.copied + self.updated + self.unchanged


def run_ids(store: Store, *, where: Any | None = None) -> list[str]:
    """IDs of the runs to copy (all, or those matching a compiled filter), oldest first."""
    stmt = select(_RUN_ID).order_by(_RUN_ID)
    if where is not None:
        stmt = stmt.where(where)
    with store.reading() as session:
        return list(session.scalars(stmt))


def copy_runs(
    source: Store,
    target: Store,
    ids: Sequence[str],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> CopyReport:
    """Copy the runs `ids` from `source` into `target` (see the module docstring)."""
    report = CopyReport()
    deferred: list[dict[str, Any]] = []
    for start in range(0, len(ids), BATCH):
        batch = list(ids[start : start + BATCH])
        with source.reading() as session:
            src = read_bundle(session, batch)
        for run_id, why in _over_limits(src).items():
            report.refused.append((run_id, why))
            batch.remove(run_id)
        try:
            deferred += _copy_batch(source, target, src, batch, report)
        except StoreUnreachableError:
            raise
        except StoreError:
            # One run the target refuses must not keep the others out: each on its own.
            for run_id in batch:
                try:
                    deferred += _copy_batch(source, target, src, [run_id], report)
                except StoreUnreachableError:
                    raise
                except StoreError as e:
                    report.refused.append((run_id, e.message))
        if progress is not None:
            progress(min(start + BATCH, len(ids)), len(ids))
    report.reproductions_skipped = _write_reproductions(target, deferred)
    return report


def _copy_batch(
    source: Store, target: Store, src: Bundle, batch: list[str], report: CopyReport
) -> list[dict[str, Any]]:
    """Copy some runs of `src` in one target transaction; the reproductions to write after.

    `report` is counted only once the transaction has committed.
    """
    done = CopyReport()
    with target.writing_core() as conn:
        present = set(conn.scalars(select(_RUN_ID).where(_RUN_ID.in_(batch))))
        absent = [i for i in batch if i in src.runs and i not in present]
        dst = read_bundle(conn, sorted(present)) if present else Bundle()
        for run_id in sorted(present & src.runs.keys()):
            if why := _forged(src, dst, run_id):
                done.refused.append((run_id, why))
        refused = {run_id for run_id, _ in done.refused}
        _ensure_environments(source, target, conn, src, absent, dst)
        if absent:
            _insert_runs(conn, src, absent)
            done.copied += len(absent)
            done.copied_ids += absent
        for run_id in sorted((present & src.runs.keys()) - refused):
            if merge_run(conn, src, dst, run_id):
                done.updated += 1
            else:
                done.unchanged += 1
        deferred = _reproductions_to_write(src, dst, [i for i in batch if i not in refused])
    report.copied += done.copied
    report.copied_ids += done.copied_ids
    report.updated += done.updated
    report.unchanged += done.unchanged
    report.refused += done.refused
    return deferred


def _forged(src: Bundle, dst: Bundle, run_id: str) -> str | None:
    """Why the source's copy of a run may not touch the target's, or None.

    A target copy that has ended is sealed: a source copy that has ended too must hold
    the same record (a copy still running is merely behind, and changes nothing).
    """
    held = dst.runs[run_id]
    if not is_ended(held["status"]) or not is_ended(src.runs[run_id]["status"]):
        return None
    sealed = held["digest"] or digest_of(dst, run_id)
    if digest_of(src, run_id) == sealed:
        return None
    return (
        f"this ledger's copy differs from the run the target holds as {held['status']} "
        f"(record digest {sealed[:12]}); an ended run's record never changes"
    )


def _over_limits(src: Bundle) -> dict[str, str]:
    """Runs holding a value longer than its column allows, with the first such value."""
    found: dict[str, str] = {}
    for run_id, row in src.runs.items():
        if why := _too_long("runs", row):
            found[run_id] = why
    for name, per_run in src.rows.items():
        for run_id, rows in per_run.items():
            for row in rows:
                if run_id not in found and (why := _too_long(name, row)):
                    found[run_id] = why
    for run_id, keyed in src.series.items():
        for key in keyed:
            if run_id not in found and (why := _too_long("series", {"key": key})):
                found[run_id] = why
    return found


def _too_long(name: str, row: dict[str, Any]) -> str | None:
    for column in table(name).columns:
        length = getattr(column.type, "length", None)
        value = row.get(column.name)
        if length is not None and isinstance(value, str) and len(value) > length:
            shown = value if len(value) <= 40 else f"{value[:24]}…{value[-12:]}"
            return f"{name}.{column.name} {shown!r} is {len(value):,} characters, over the {length} allowed"
    return None


def _ensure_environments(
    source: Store, target: Store, conn: Connection, src: Bundle, absent: list[str], dst: Bundle
) -> None:
    """Copy the environments new or updated runs point at (stored once, by digest)."""
    wanted = {src.runs[i]["environment_digest"] for i in absent}
    wanted |= {
        r["environment_digest"] for i, r in src.runs.items() if i in dst.runs and fresher(r, dst.runs[i])
    }
    wanted.discard(None)
    if not wanted:
        return
    envs = table("environments")
    have = set(conn.scalars(select(envs.c.digest).where(envs.c.digest.in_(wanted))))
    missing = sorted(wanted - have)
    if not missing:
        return
    with source.reading() as src_session:
        rows = [
            dict(r) for r in src_session.execute(select(envs).where(envs.c.digest.in_(missing))).mappings()
        ]
    target.upsert(conn, models.EnvironmentRow, rows, keys=("digest",))


def _insert_runs(conn: Connection, src: Bundle, ids: list[str]) -> None:
    """Insert whole runs as they are recorded: open, then the record, then the end."""
    bulk_insert(conn, table("runs"), [{**src.runs[i], "status": "running", "digest": None} for i in ids])
    for name in (*MERGED_TABLES, *SET_TABLES):
        rows = [row for i in ids for row in src.rows[name].get(i, ())]
        if rows:
            bulk_insert(conn, table(name), rows)
    insert_chunks(conn, {i: src.series.get(i, {}) for i in ids}, new_series=True)
    ends = [
        {"run": i, "end": src.runs[i]["status"], "sealed": digest_of(src, i)}
        for i in ids
        if is_ended(src.runs[i]["status"])
    ]
    if ends:  # one statement, many parameter sets: a sync of thousands of runs
        runs = table("runs")
        conn.execute(
            update(runs)
            .where(runs.c.id == bindparam("run"))
            .values(status=bindparam("end"), digest=bindparam("sealed")),
            ends,
        )


def _reproductions_to_write(src: Bundle, dst: Bundle, batch: list[str]) -> list[dict[str, Any]]:
    rows = []
    for run_id in batch:
        have = {r["run_id"]: r for r in dst.rows.get("reproductions", {}).get(run_id, [])}
        for row in src.rows["reproductions"].get(run_id, []):
            old = have.get(row["run_id"])
            if old is None or (old != row and old["matched"] is None):
                rows.append(row)
    return rows


def _write_reproductions(target: Store, rows: list[dict[str, Any]]) -> int:
    """Write reproduction links whose two runs are both in the target; the others are skipped."""
    if not rows:
        return 0
    with target.writing_core() as conn:
        ids = {r["run_id"] for r in rows} | {r["original_id"] for r in rows}
        present = set(conn.scalars(select(_RUN_ID).where(_RUN_ID.in_(ids))))
        usable = [r for r in rows if r["run_id"] in present and r["original_id"] in present]
        if usable:
            target.upsert(
                conn,
                models.ReproductionRow,
                usable,
                keys=("run_id",),
                update=[c.name for c in table("reproductions").columns if c.name != "run_id"],
            )
    return len(rows) - len(usable)
