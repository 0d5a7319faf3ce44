"""Writes to the ledger: new runs, their results, tags and notes.

How every writer in the ledger writes (here, `annotate`, `archive`, `transfer`, the
commit path): Core statements (`insert`, `update`, `delete`, `Store.upsert`) in a
`Store.writing_core()` transaction, never an ORM session's unit of work (`session.add`,
changing a loaded row's attributes). The API's logging path writes this way because an
ORM session's bookkeeping costs more than the inserts; one style everywhere means any
writer's helpers can join another's transaction, and no write waits on a flush. The
ORM stays for reads that map rows into records (`ledger.read`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, insert, or_, select, update

from ledger.core import chunks, limits
from ledger.core.param_values import to_row
from ledger.core.redact import redact_text
from ledger.store import tables as models
from ledger.store.record_rows import digest_of, read_bundle

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from sqlalchemy.engine import Connection
    from sqlalchemy.sql.elements import ColumnElement

    from ledger.core.ids import RunId
    from ledger.core.lockfile import Environment
    from ledger.core.records import DataFile, DataItem, Metric, NewRun, Param, RunEnd
    from ledger.store.engine import Store


_RUNS = models.Base.metadata.tables["runs"]
_INSERT_RUN = insert(_RUNS)
_UPDATE_RUN = update(_RUNS).where(_RUNS.c.id == bindparam("run_id"))
"""Sets the columns named by the other parameters (Core derives SET from them)."""
SEAL_BATCH = 250
"""Runs sealed per read: the ids of one batch stay well under a statement's bind limit."""
_INSERT_CHUNK = insert(models.Base.metadata.tables["metric_chunks"])
_SERIES = models.Base.metadata.tables["series"]


def create_run(store: Store, run: NewRun) -> None:
    """Insert a run with everything captured before it started."""
    run = limits.fit_new_run(run)
    with store.writing_core() as conn:
        if run.environment is not None:
            save_environment(store, conn, run.environment)
        conn.execute(_INSERT_RUN, [run_row(run)])
        _write_tags(store, conn, [run.id], run.tags)
        _write_params(store, conn, run.id, run.params)
        _write_data(store, conn, run.id, run.data)


def run_exists(store: Store, run_id: RunId) -> bool:
    """Whether the ledger holds the run (a handed-over run may not be in it yet)."""
    with store.reading_core() as conn:
        return conn.scalar(select(_RUNS.c.id).where(_RUNS.c.id == run_id)) is not None


def run_row(run: NewRun) -> dict[str, object]:
    """The runs-table row of a new run (JSON columns encoded)."""
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "source": run.source,
        "started_at": run.started_at,
        "heartbeat_at": run.started_at,
        "argv": json.dumps(list(run.argv)),
        "cwd": run.cwd,
        "repo": run.repo,
        "host": run.host,
        "user": run.user,
        "pid": run.pid,
        "pid_start": run.pid_start,
        "seeds": json.dumps(dict(run.seeds)) if run.seeds else None,
        "env_vars": json.dumps(dict(run.env_vars)) if run.env_vars else None,
        "commit": run.commit,
        "branch": run.branch,
        "snapshot": run.snapshot,
        "dirty": run.dirty,
        "snapshot_skipped": json.dumps([list(s) for s in run.snapshot_skipped])
        if run.snapshot_skipped
        else None,
        "environment_digest": None if run.environment is None else run.environment.digest,
        "capture_errors": json.dumps([redact_text(e) for e in run.capture_errors])
        if run.capture_errors
        else None,
        "interpreter": run.interpreter,
    }


def finish_run(store: Store, run_id: RunId, end: RunEnd) -> None:
    """Record the end of a run; metrics from files join those logged through the API.

    The record is written first and the run row last, with the record's digest
    (`seal`): once a run has ended, its record never changes.
    """
    end = limits.fit_run_end(end)
    with store.writing_core() as conn:
        before = conn.execute(
            select(_RUNS.c.seeds, _RUNS.c.capture_errors).where(_RUNS.c.id == run_id)
        ).first()
        if before is None:
            return
        values: dict[str, object] = {
            "status": end.status,
            "ended_at": end.ended_at,
            "exit_code": end.exit_code,
            "peak_rss": end.peak_rss,
            "run_folders": json.dumps(list(end.run_folders)) if end.run_folders else None,
            "torch_runtime": None if end.torch is None else end.torch.to_json(),
        }
        if end.ignored_inputs:
            values["ignored_inputs"] = json.dumps(
                [[i.path, i.algorithm, i.value, i.size] for i in end.ignored_inputs]
            )
        if end.seeds:
            values["seeds"] = json.dumps({**json.loads(before.seeds or "{}"), **end.seeds})
        if end.capture_errors:
            added = [
                redact_text(e) for e in end.capture_errors
            ]  # a problem may quote a URL with its password
            values["capture_errors"] = json.dumps(json.loads(before.capture_errors or "[]") + added)
        write_final_metrics(store, conn, run_id, end.metrics)
        if end.params:
            _write_params(store, conn, run_id, end.params)
        _write_data(store, conn, run_id, end.data)
        store.upsert(
            conn,
            models.OutputRow,
            [
                {"run_id": run_id, "path": o.path, "algorithm": o.algorithm, "value": o.value, "size": o.size}
                for o in end.outputs
            ],
            keys=("run_id", "path"),
            update=("algorithm", "value", "size"),
        )
        if end.log is not None:
            _write_log(store, conn, run_id, end.log, size=end.log_size, truncated=end.log_truncated)
        seal(conn, {run_id: values})


def seal(conn: Connection, ends: Mapping[RunId, Mapping[str, object]]) -> None:
    """End runs written so far as `running`: set each one's end columns and its record's
    digest.

    Everything a run records is written before this: a team server lets a run's record
    be written only while it runs (`ledger.store.policies`). Runs are read back a batch
    at a time, as a backfill records thousands at once.
    """
    ids = list(ends)
    for start in range(0, len(ids), SEAL_BATCH):
        bundle = read_bundle(conn, ids[start : start + SEAL_BATCH])
        conn.execute(
            _UPDATE_RUN,
            [
                {"run_id": run_id, **ends[run_id], "digest": digest_of(bundle, run_id, **ends[run_id])}
                for run_id in ids[start : start + SEAL_BATCH]
            ],
        )


def store_log(store: Store, run_id: RunId, data: bytes, *, size: int, truncated: bool) -> None:
    """Save a run's compressed log (crash recovery stores what the spool kept)."""
    with store.writing_core() as conn:
        _write_log(store, conn, run_id, data, size=size, truncated=truncated)


def save_environment(store: Store, conn: Connection, env: Environment) -> None:
    """Store an environment once, however many runs share it."""
    store.upsert(
        conn,
        models.EnvironmentRow,
        [
            {
                "digest": env.digest,
                "python_version": env.python_version,
                "implementation": env.implementation,
                "platform": env.platform,
                "torch": env.torch,
                "cuda": env.cuda,
                "lock": env.to_json(),
            }
        ],
        keys=("digest",),
    )


def add_params(store: Store, run_id: RunId, params: Sequence[Param]) -> None:
    """Add or overwrite params of a run (the API's `log_params`)."""
    problems: list[str] = []
    params = [replace(p, key=limits.fitted("param key", p.key, limits.KEY, problems)) for p in params]
    with store.writing_core() as conn:
        _write_params(store, conn, run_id, params)
        _add_problems(conn, [run_id], problems)


def add_points(
    store: Store, run_id: RunId, batches: Mapping[str, chunks.Points], *, source: str = "api"
) -> None:
    """Append one chunk per series and move each final value to its newest step."""
    problems: list[str] = []
    batches = {limits.fitted("metric key", k, limits.KEY, problems): p for k, p in batches.items() if len(p)}
    if not batches:
        return
    # The last flush of a run is on the path of the user's `with` block ending: this is
    # the write the Core rule (module docstring) is for.
    with store.writing_core() as conn:
        store.upsert(
            conn, models.SeriesRow, [{"run_id": run_id, "key": k} for k in batches], keys=("run_id", "key")
        )
        ids = dict(
            conn.execute(
                select(_SERIES.c.key, _SERIES.c.id).where(
                    _SERIES.c.run_id == run_id, _SERIES.c.key.in_(list(batches))
                )
            ).all()
        )
        conn.execute(
            _INSERT_CHUNK,
            [
                {
                    "series_id": ids[key],
                    "count": len(points),
                    "first_step": min(points.steps),
                    "last_step": max(points.steps),
                    "codec": chunks.CODEC,
                    "payload": chunks.encode(points),
                }
                for key, points in batches.items()
            ],
        )
        finals = []
        for key, points in batches.items():
            newest = max(points.steps)
            # The last point logged at the newest step (a step may be logged twice).
            last = len(points) - 1 - points.steps[::-1].index(newest)
            finals.append((key, points.values[last], newest))
        _upsert_finals(store, conn, run_id, finals, source=source)
        conn.execute(_UPDATE_RUN, {"run_id": run_id, "heartbeat_at": time.time()})
        _add_problems(conn, [run_id], problems)


def metric_keys(store: Store, run_id: RunId) -> set[str]:
    """The keys of the metrics a run has so far."""
    table = models.Base.metadata.tables["metrics"]
    with store.reading_core() as conn:
        return set(conn.scalars(select(table.c.key).where(table.c.run_id == run_id)))


def write_final_metrics(store: Store, conn: Connection, run_id: RunId, metrics: Iterable[Metric]) -> None:
    """Set final values read from files (they carry no step, so they always win)."""
    store.upsert(
        conn,
        models.MetricRow,
        metric_rows(run_id, metrics),
        keys=("run_id", "key"),
        update=("value", "step", "source"),
    )


def set_status(store: Store, run_id: RunId, *, status: str, ended_at: float | None) -> None:
    """End a running run with `status` (crash detection), sealing its record with its digest."""
    with store.writing_core() as conn:
        if conn.scalar(select(_RUNS.c.status).where(_RUNS.c.id == run_id)) != "running":
            return
        seal(conn, {run_id: {"status": status, "ended_at": ended_at}})


def heartbeat(store: Store, run_id: RunId) -> None:
    """Tell readers on other hosts that the run is still alive (an ended run has no pulse)."""
    with store.writing_core() as conn:
        conn.execute(
            update(_RUNS)
            .where(_RUNS.c.id == run_id, _RUNS.c.status == "running")
            .values(heartbeat_at=time.time())
        )


def add_tags(store: Store, run_ids: Sequence[RunId], tags: Sequence[str]) -> None:
    """Tag runs; tagging twice is harmless. A tag over its limit is shortened (the CLI refuses it first)."""
    problems: list[str] = []
    tags = limits.fit_all("tag", tags, limits.TAG, problems)
    with store.writing_core() as conn:
        _write_tags(store, conn, run_ids, tags)
        _add_problems(conn, run_ids, problems)


def remove_tags(store: Store, run_ids: Sequence[RunId], tags: Sequence[str]) -> None:
    """Remove tags from runs; absent tags are ignored."""
    table = models.Base.metadata.tables["tags"]
    with store.writing_core() as conn:
        conn.execute(delete(table).where(table.c.run_id.in_(run_ids), table.c.tag.in_(tags)))


def set_note(store: Store, run_id: RunId, note: str | None, *, append: bool = False) -> None:
    """Replace (or append to) a run's free-text note."""
    if append and not note:
        return
    with store.writing_core() as conn:
        if append:
            before = conn.scalar(select(_RUNS.c.note).where(_RUNS.c.id == run_id))
            note = f"{before}\n{note}" if before else note
        conn.execute(_UPDATE_RUN, {"run_id": run_id, "note": note})


def _add_problems(conn: Connection, run_ids: Sequence[RunId], problems: Sequence[str]) -> None:
    """Add capture problems to runs, each once however often the same thing happens."""
    for run_id in run_ids if problems else ():
        before = conn.scalar(select(_RUNS.c.capture_errors).where(_RUNS.c.id == run_id))
        known = json.loads(before or "[]")
        new = [p for p in dict.fromkeys(problems) if p not in known]
        if new:
            conn.execute(_UPDATE_RUN, {"run_id": run_id, "capture_errors": json.dumps(known + new)})


def _upsert_finals(
    store: Store,
    conn: Connection,
    run_id: RunId,
    finals: Sequence[tuple[str, float, int]],
    *,
    source: str,
) -> None:
    rows = [
        {"run_id": run_id, "key": k, "value": _db_float(v), "step": s, "source": source} for k, v, s in finals
    ]
    store.upsert(
        conn,
        models.MetricRow,
        rows,
        keys=("run_id", "key"),
        update=("value", "step", "source"),
        # Keep the value of the newest step when several writers log one metric.
        where=_newer,
    )


def _newer(excluded: Any) -> ColumnElement[bool]:
    step = models.Base.metadata.tables["metrics"].c.step
    return or_(step.is_(None), step <= excluded.step)


def _write_tags(store: Store, conn: Connection, run_ids: Sequence[RunId], tags: Sequence[str]) -> None:
    rows = [{"run_id": r, "tag": t} for r in run_ids for t in dict.fromkeys(tags)]
    store.upsert(conn, models.TagRow, rows, keys=("run_id", "tag"))


def param_rows(run_id: RunId, params: Sequence[Param]) -> list[dict[str, object]]:
    """Rows of the params table (the last param of a key wins)."""
    rows: list[dict[str, object]] = []
    for p in {p.key: p for p in params}.values():
        row = to_row(p.value)
        rows.append(
            {
                "run_id": run_id,
                "key": p.key,
                "kind": row.kind,
                "num": row.num,
                "text": row.text,
                "source": p.source,
            }
        )
    return rows


def data_rows(run_id: RunId, data: Sequence[DataItem]) -> list[dict[str, object]]:
    """Rows of the data_refs table (one per path and role)."""
    unique = {(d.path, d.role): d for d in data}
    return [
        {
            "run_id": run_id,
            "path": d.path,
            "role": d.role,
            "algorithm": d.algorithm,
            "value": d.value,
            "size": d.size,
            "nfiles": d.nfiles,
            "source": d.source,
            "stage": d.stage,
            "workspace_match": d.workspace_match,
            "checked": d.checked,
            "files": json.dumps([_file_dict(f) for f in d.files]) if d.files else None,
        }
        for d in unique.values()
    ]


def _file_dict(file: DataFile) -> dict[str, object]:
    """A per-file entry with its unknown fields left out (most files have no version yet)."""
    return {k: v for k in file.__slots__ if (v := getattr(file, k)) is not None}


def metric_rows(run_id: RunId, metrics: Iterable[Metric]) -> list[dict[str, object]]:
    """Rows of the metrics table (a key in two files: the last file wins)."""
    final = {m.key: m for m in metrics}
    return [
        {"run_id": run_id, "key": m.key, "value": _db_float(m.value), "step": m.step, "source": m.source}
        for m in final.values()
    ]


def _write_params(store: Store, conn: Connection, run_id: RunId, params: Sequence[Param]) -> None:
    store.upsert(
        conn,
        models.ParamRow,
        param_rows(run_id, params),
        keys=("run_id", "key"),
        update=("kind", "num", "text", "source"),
    )


def _write_data(store: Store, conn: Connection, run_id: RunId, data: Sequence[DataItem]) -> None:
    rows = data_rows(run_id, data)
    store.upsert(
        conn,
        models.DataRefRow,
        rows,
        keys=("run_id", "path", "role"),
        update=(
            "algorithm",
            "value",
            "size",
            "nfiles",
            "source",
            "stage",
            "workspace_match",
            "checked",
            "files",
        ),
    )


def _write_log(
    store: Store, conn: Connection, run_id: RunId, data: bytes, *, size: int, truncated: bool
) -> None:
    store.upsert(
        conn,
        models.LogRow,
        [{"run_id": run_id, "size": size, "truncated": truncated, "data": data}],
        keys=("run_id",),
        update=("size", "truncated", "data"),
    )


def _db_float(value: float) -> float | None:
    """NaN is stored as NULL and -0.0 as 0.0: SQLite holds neither, and both backends must agree."""
    return None if math.isnan(value) else value + 0.0
