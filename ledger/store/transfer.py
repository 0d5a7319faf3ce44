"""Copy whole run records from one ledger to another, merging what both already hold.

Every part of a record travels: the run row, tags, params, final metrics, series
chunks, data hashes, outputs, log, commit links, reproductions and the environment
it points at. A run the target lacks is inserted row for row; a run both hold is
merged (tags and links united, notes joined, missing chunks added, and the fuller
record's values taken when the target's copy is still `running`), so copying twice
changes nothing the second time. Each batch of runs is one transaction on the
target: an interrupted copy never leaves half a run.

A run the target holds as ended is sealed: only its annotations merge. A copy whose
record differs from it (`ledger.store.evidence`) is refused for that run, and a copy
still `running` there is simply behind. A run is written as a run is recorded: its
row as `running`, then its record, then its end and digest, so a team server's
policies (`ledger.store.policies`) hold a sync to the rules a run is held to.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update

from ledger.core.errors import StoreError, StoreUnreachableError
from ledger.store import tables as models
from ledger.store.evidence import RECORD_ROW_TABLES, is_ended, record_digest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from sqlalchemy import Table
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from ledger.store.engine import Store

BATCH = 250
"""Runs read, compared and written per target transaction."""

MERGED_TABLES = RECORD_ROW_TABLES
"""Per-run tables whose rows the fuller record's copy overwrites."""

SET_TABLES = ("tags", "commit_links")
"""Per-run tables that are sets: merging unites them, nothing is overwritten."""

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

RUN_LOCAL_COLUMNS = ("id", "note", "archived", "owner")
"""Run columns never overwritten by a merge: the key, the note (merged), the archive mark
(a reader's choice about their own ledger, copied only with a new run), the owner (each
server sets its own: the role that brought the run in)."""

ChunkKey = tuple[int, int, int, str, bytes]
"""A chunk as compared: count, first step, last step, codec, payload."""


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


@dataclass(slots=True)
class _Bundle:
    """Every row of a batch of runs, as plain dicts keyed the same way on both sides."""

    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    rows: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    """table -> run ID -> rows."""
    series: dict[str, dict[str, list[ChunkKey]]] = field(default_factory=dict)
    """run ID -> series key -> chunks in write order (a series may have none)."""


def run_ids(store: Store, *, where: Any | None = None) -> list[str]:
    """IDs of the runs to copy (all, or those matching a compiled filter), oldest first."""
    stmt = select(models.Run.id).order_by(models.Run.id)
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
    source: Store, target: Store, src: _Bundle, batch: list[str], report: CopyReport
) -> list[dict[str, Any]]:
    """Copy some runs of `src` in one target transaction; the reproductions to write after.

    `report` is counted only once the transaction has committed.
    """
    done = CopyReport()
    with target.writing() as session:
        present = set(session.scalars(select(models.Run.id).where(models.Run.id.in_(batch))))
        absent = [i for i in batch if i in src.runs and i not in present]
        dst = read_bundle(session, sorted(present)) if present else _Bundle()
        for run_id in sorted(present & src.runs.keys()):
            if why := _forged(src, dst, run_id):
                done.refused.append((run_id, why))
        refused = {run_id for run_id, _ in done.refused}
        _ensure_environments(source, target, session, src, absent, dst)
        if absent:
            _insert_runs(target, session, src, absent)
            done.copied += len(absent)
            done.copied_ids += absent
        for run_id in sorted((present & src.runs.keys()) - refused):
            if _merge_run(target, session, src, dst, run_id):
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


def digest_of(bundle: _Bundle, run_id: str, **end: Any) -> str:
    """The record digest of one run of a bundle, with `end`'s run columns as they will be."""
    return record_digest(
        {**bundle.runs[run_id], **end},
        {name: bundle.rows.get(name, {}).get(run_id, []) for name in RECORD_ROW_TABLES},
        bundle.series.get(run_id, {}),
    )


def _forged(src: _Bundle, dst: _Bundle, run_id: str) -> str | None:
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


def _over_limits(src: _Bundle) -> dict[str, str]:
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
    for column in _table(name).columns:
        length = getattr(column.type, "length", None)
        value = row.get(column.name)
        if length is not None and isinstance(value, str) and len(value) > length:
            shown = value if len(value) <= 40 else f"{value[:24]}…{value[-12:]}"
            return f"{name}.{column.name} {shown!r} is {len(value):,} characters, over the {length} allowed"
    return None


def delete_runs(store: Store, ids: Iterable[str]) -> None:
    """Remove runs and everything hanging off them (the outbox, once delivered)."""
    wanted = list(ids)
    with store.writing() as session:
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            session.execute(delete(models.Reproduction).where(models.Reproduction.original_id.in_(batch)))
            session.execute(delete(models.Run).where(models.Run.id.in_(batch)))


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


def _bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows at once.

    psycopg's executemany sends one INSERT per row (pipelined); COPY, inside the
    same transaction, is several times faster on PostgreSQL. SQLite's executemany
    is already a tight loop in C, so it keeps it, and so does a table under
    row-level security for this role (PostgreSQL refuses COPY FROM into one).
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    if (dialect.name, dialect.driver) != ("postgresql", "psycopg") or session.scalar(
        select(func.row_security_active(table.name))
    ):
        session.execute(insert(table), rows)
        return
    from psycopg import sql

    columns = list(rows[0])
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    from psycopg import Error

    raw = session.connection().connection.driver_connection
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except Error as e:  # the driver's own, below SQLAlchemy's translation
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise StoreError(f"ledger database refused a write: {first}") from e


def _table(name: str) -> Table:
    return models.Base.metadata.tables[name]


def read_bundle(session: Session | Connection, ids: Sequence[str]) -> _Bundle:
    """Every row of the runs `ids`."""
    bundle = _Bundle()
    if not ids:
        return bundle
    runs = _table("runs")
    for row in session.execute(select(runs).where(runs.c.id.in_(ids))).mappings():
        bundle.runs[row["id"]] = dict(row)
    for name in (*MERGED_TABLES, *SET_TABLES, "reproductions"):
        table = _table(name)
        per_run: dict[str, list[dict[str, Any]]] = {}
        for row in session.execute(select(table).where(table.c.run_id.in_(ids))).mappings():
            per_run.setdefault(row["run_id"], []).append(dict(row))
        bundle.rows[name] = per_run
    series, chunks = _table("series"), _table("metric_chunks")
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


def _ensure_environments(
    source: Store, target: Store, session: Session, src: _Bundle, absent: list[str], dst: _Bundle
) -> None:
    """Copy the environments new or updated runs point at (stored once, by digest)."""
    wanted = {src.runs[i]["environment_digest"] for i in absent}
    wanted |= {
        r["environment_digest"] for i, r in src.runs.items() if i in dst.runs and _fresher(r, dst.runs[i])
    }
    wanted.discard(None)
    if not wanted:
        return
    have = set(
        session.scalars(select(models.Environment.digest).where(models.Environment.digest.in_(wanted)))
    )
    missing = sorted(wanted - have)
    if not missing:
        return
    envs = _table("environments")
    with source.reading() as src_session:
        rows = [
            dict(r) for r in src_session.execute(select(envs).where(envs.c.digest.in_(missing))).mappings()
        ]
    target.upsert(session, models.Environment, rows, keys=("digest",))


def _insert_runs(target: Store, session: Session, src: _Bundle, ids: list[str]) -> None:
    """Insert whole runs as they are recorded: open, then the record, then the end."""
    _bulk_insert(session, _table("runs"), [{**src.runs[i], "status": "running", "digest": None} for i in ids])
    for name in (*MERGED_TABLES, *SET_TABLES):
        rows = [row for i in ids for row in src.rows[name].get(i, ())]
        if rows:
            _bulk_insert(session, _table(name), rows)
    _insert_chunks(session, {i: src.series.get(i, {}) for i in ids}, new_series=True)
    runs = _table("runs")
    for run_id in ids:
        status = src.runs[run_id]["status"]
        if is_ended(status):
            session.execute(
                update(runs).where(runs.c.id == run_id).values(status=status, digest=digest_of(src, run_id))
            )


def _insert_chunks(
    session: Session, wanted: dict[str, dict[str, list[ChunkKey]]], *, new_series: bool
) -> None:
    """Add chunks (in their write order), creating the series the target lacks."""
    if not any(wanted.values()):
        return
    series = _table("series")
    if new_series:
        rows = [{"run_id": run_id, "key": key} for run_id, keys in wanted.items() for key in keys]
        _bulk_insert(session, series, rows)
    ids: dict[tuple[str, str], int] = {}
    for run_id, key, series_id in session.execute(
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
        _bulk_insert(session, _table("metric_chunks"), chunks)


def _fresher(source: dict[str, Any], target: dict[str, Any]) -> bool:
    """Whether the source's copy of a run has got further than the target's (still running)."""
    if is_ended(target["status"]):
        return False
    if is_ended(source["status"]):
        return True
    return (source["heartbeat_at"] or 0.0) > (target["heartbeat_at"] or 0.0)


def _merge_run(target: Store, session: Session, src: _Bundle, dst: _Bundle, run_id: str) -> bool:
    """Bring the target's copy of one run up to the source's; whether anything changed.

    The record is merged first and the run row last, as its end: a team server lets
    a run's record be written only while the run is open (`ledger.store.policies`).
    """
    s, d = src.runs[run_id], dst.runs[run_id]
    wins = _fresher(s, d)
    sealed = is_ended(d["status"])
    changed = False
    for name in (*MERGED_TABLES, *SET_TABLES):
        if sealed and name in MERGED_TABLES:
            continue
        changed |= _merge_rows(
            session,
            name,
            src.rows[name].get(run_id, []),
            dst.rows[name].get(run_id, []),
            overwrite=wins and name in MERGED_TABLES,
        )
    if not sealed:
        changed |= _merge_series(session, run_id, src.series.get(run_id, {}), dst.series.get(run_id, {}))
    changes: dict[str, Any] = {}
    if wins:
        changes = {c: v for c, v in s.items() if c not in RUN_LOCAL_COLUMNS and v != d[c]}
        if is_ended(s["status"]):  # sealed here: the digest of what the target now holds
            merged = read_bundle(session, [run_id])
            changes["digest"] = digest_of(merged, run_id, **changes)
    note = merge_notes(d["note"], s["note"])
    if note != d["note"]:
        changes["note"] = note
    if changes:
        session.execute(update(_table("runs")).where(_table("runs").c.id == run_id).values(**changes))
    return changed or bool(changes)


def _merge_rows(
    session: Session,
    name: str,
    src_rows: list[dict[str, Any]],
    dst_rows: list[dict[str, Any]],
    *,
    overwrite: bool,
) -> bool:
    table = _table(name)
    pk = [c.name for c in table.primary_key.columns]
    have = {tuple(r[c] for c in pk): r for r in dst_rows}
    missing = [r for r in src_rows if tuple(r[c] for c in pk) not in have]
    if missing:
        _bulk_insert(session, table, missing)
    changed = bool(missing)
    if not overwrite:
        return changed
    for row in src_rows:
        old = have.get(tuple(row[c] for c in pk))
        if old is None or old == row or (name == "metrics" and not _newer_final(row, old)):
            continue
        where = [table.c[c] == row[c] for c in pk]
        session.execute(update(table).where(*where).values({c: v for c, v in row.items() if c not in pk}))
        changed = True
    return changed


def _newer_final(source: dict[str, Any], target: dict[str, Any]) -> bool:
    """A final metric value moves to the newest step; values read from files always win."""
    return source["step"] is None or target["step"] is None or target["step"] <= source["step"]


def _merge_series(
    session: Session, run_id: str, src: dict[str, list[ChunkKey]], dst: dict[str, list[ChunkKey]]
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
        _insert_chunks(session, {run_id: new_keys}, new_series=True)
    if extra:
        _insert_chunks(session, {run_id: extra}, new_series=False)
    return bool(new_keys or extra)


def _reproductions_to_write(src: _Bundle, dst: _Bundle, batch: list[str]) -> list[dict[str, Any]]:
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
    table = _table("reproductions")
    with target.writing() as session:
        ids = {r["run_id"] for r in rows} | {r["original_id"] for r in rows}
        present = set(session.scalars(select(models.Run.id).where(models.Run.id.in_(ids))))
        usable = [r for r in rows if r["run_id"] in present and r["original_id"] in present]
        if usable:
            target.upsert(
                session,
                models.Reproduction,
                usable,
                keys=("run_id",),
                update=[c.name for c in table.columns if c.name != "run_id"],
            )
    return len(rows) - len(usable)
