"""Reads from the ledger, returned as plain records: what the CLI and the TUI call."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ledger.core import chunks
from ledger.core.errors import AmbiguousRunIdError, RunNotFoundError
from ledger.core.ids import RunId, is_hex, normalize_prefix
from ledger.core.param_values import from_row
from ledger.core.records import Annotation, DataFile, DataItem, Metric, OutputFile, Param, RunDetail
from ledger.core.summary import RunSummary
from ledger.core.torch_runtime import TorchRuntime
from ledger.read import listing
from ledger.read.sql_dialect import dialect_named
from ledger.store import tables

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from ledger.core.filters import Expr, SortKey
    from ledger.core.lockfile import Environment
    from ledger.store.engine import Store

MAX_CANDIDATES = 10
"""Runs listed when an ID prefix is ambiguous."""


def resolve_run_id(store: Store, text: str) -> RunId:
    """Turn a full ID, a unique prefix, a run name or `latest` into a run ID.

    Raises:
        RunNotFoundError: nothing matches.
        AmbiguousRunIdError: several runs match; the message lists them.
    """
    wanted = normalize_prefix(text)
    with store.reading() as session:
        if wanted == "latest":
            found = session.scalars(
                select(tables.RunRow.id).order_by(tables.RunRow.started_at.desc()).limit(1)
            ).all()
        else:
            found = []
            if is_hex(wanted):
                upper = wanted + "g"  # every hex ID starting with `wanted` sorts below this
                found = session.scalars(
                    select(tables.RunRow.id)
                    .where(tables.RunRow.id >= wanted, tables.RunRow.id < upper)
                    .order_by(tables.RunRow.id)
                    .limit(MAX_CANDIDATES + 1)
                ).all()
            if not found:
                found = session.scalars(
                    select(tables.RunRow.id)
                    .where(tables.RunRow.name == text.strip())
                    .limit(MAX_CANDIDATES + 1)
                ).all()
        if len(found) == 1:
            return RunId(found[0])
        if not found:
            raise RunNotFoundError(f"no run matches {text!r}", hint="`ledger list` shows run IDs")
        lines = [_candidate(session, run_id) for run_id in found[:MAX_CANDIDATES]]
    more = " ..." if len(found) > MAX_CANDIDATES else ""
    raise AmbiguousRunIdError(
        f"{text!r} matches several runs: " + "; ".join(lines) + more,
        hint="give more characters of the ID",
    )


def list_runs(
    store: Store,
    *,
    where: Expr | None = None,
    sort: Sequence[SortKey] = (),
    limit: int | None = 50,
    offset: int = 0,
    params: Sequence[str] = (),
    metrics: Sequence[str] = (),
    include_archived: bool = True,
) -> list[RunSummary]:
    """One page of runs, filtered and sorted in the database, never loaded whole.

    `params` and `metrics` name the values to carry on each summary; `"*"` means all.
    Archived runs are left out when `include_archived` is false (as `ledger list` does).
    """
    with store.reading_core() as conn:
        runs, _ = listing.read_page(
            driver_sql(conn),
            dialect_named(store.engine.dialect.name),
            where=where,
            sort=sort,
            limit=limit,
            offset=offset,
            params=params,
            metrics=metrics,
            include_archived=include_archived,
        )
    return runs


def count_runs(store: Store, *, where: Expr | None = None, include_archived: bool = True) -> int:
    """How many runs match a filter (for the TUI's status line and paging)."""
    dialect = dialect_named(store.engine.dialect.name)
    sql, args = listing.count_sql(where, dialect, include_archived=include_archived)
    with store.reading_core() as conn:
        return int(conn.exec_driver_sql(sql, tuple(args)).scalar() or 0)


def driver_sql(conn: Connection) -> listing.Execute:
    """`listing`'s `execute` on a SQLAlchemy connection: the text goes to the driver as
    it is, the same text the standard library's sqlite3 runs."""

    def execute(sql: str, args: Sequence[object]) -> Iterable[Sequence[Any]]:
        return conn.exec_driver_sql(sql, tuple(args)).all()

    return execute


def short_ids(session: Session, ids: Sequence[str]) -> dict[str, str]:
    """The shortest unique prefix of each ID among all runs (git-style abbreviation)."""
    if not ids:
        return {}
    dialect = dialect_named(session.get_bind().dialect.name)
    return listing.short_ids(driver_sql(session.connection()), dialect, list(ids))


def short_id(store: Store, run_id: str) -> str:
    """The shortest unique prefix of one run ID."""
    with store.reading() as session:
        return short_ids(session, [run_id])[run_id]


def get_run(store: Store, run_id: RunId) -> RunDetail:
    """Everything about one run."""
    with store.reading() as session:
        run = session.get(tables.RunRow, run_id)
        if run is None:
            raise RunNotFoundError(f"no run {run_id}")
        params = [
            Param(key=p.key, value=from_row(p.kind, p.text), source=p.source)
            for p in session.scalars(
                select(tables.ParamRow).where(tables.ParamRow.run_id == run_id).order_by(tables.ParamRow.key)
            )
        ]
        metrics = [
            Metric(key=m.key, value=_float(m.value), step=m.step, source=m.source)
            for m in session.scalars(
                select(tables.MetricRow)
                .where(tables.MetricRow.run_id == run_id)
                .order_by(tables.MetricRow.key)
            )
        ]
        series = session.scalars(
            select(tables.SeriesRow.key)
            .where(tables.SeriesRow.run_id == run_id)
            .order_by(tables.SeriesRow.key)
        ).all()
        data = [
            DataItem(
                path=d.path,
                role=d.role,
                algorithm=d.algorithm,
                value=d.value,
                size=d.size,
                nfiles=d.nfiles,
                source=d.source,
                stage=d.stage,
                workspace_match=d.workspace_match,
                checked=d.checked,
                files=tuple(DataFile(**f) for f in json.loads(d.files or "[]")),
            )
            for d in session.scalars(
                select(tables.DataRefRow)
                .where(tables.DataRefRow.run_id == run_id)
                .order_by(tables.DataRefRow.path)
            )
        ]
        outputs = [
            OutputFile(path=o.path, algorithm=o.algorithm, value=o.value, size=o.size)
            for o in session.scalars(
                select(tables.OutputRow)
                .where(tables.OutputRow.run_id == run_id)
                .order_by(tables.OutputRow.path)
            )
        ]
        log = session.execute(
            select(tables.LogRow.size, tables.LogRow.truncated).where(tables.LogRow.run_id == run_id)
        ).first()
        linked = session.scalars(
            select(tables.CommitLinkRow.commit)
            .where(tables.CommitLinkRow.run_id == run_id)
            .order_by(tables.CommitLinkRow.linked_at)
        ).all()
        dialect = dialect_named(session.get_bind().dialect.name)
        tags = listing.tags_of(driver_sql(session.connection()), dialect, [run_id]).get(run_id, ())
        annotations = [
            Annotation(kind=a.kind, value=a.value, author=a.author, created_at=a.created_at)
            for a in session.scalars(
                select(tables.AnnotationRow)
                .where(tables.AnnotationRow.run_id == run_id)
                .order_by(tables.AnnotationRow.id)
            )
        ]
        summary = _summary(
            run,
            short_ids(session, [run_id])[run_id],
            tags,
            {p.key: p.value for p in params},
            {m.key: m.value for m in metrics},
        )
        return RunDetail(
            summary=summary,
            argv=tuple(json.loads(run.argv or "[]")),
            cwd=run.cwd,
            repo=run.repo,
            host=run.host,
            user=run.user,
            pid=run.pid,
            peak_rss=run.peak_rss,
            seeds=json.loads(run.seeds or "{}"),
            env_vars=json.loads(run.env_vars or "{}"),
            snapshot=run.snapshot,
            snapshot_skipped=tuple((p, r) for p, r in json.loads(run.snapshot_skipped or "[]")),
            environment_digest=run.environment_digest,
            capture_errors=tuple(json.loads(run.capture_errors or "[]")),
            note=run.note,
            params=tuple(params),
            metrics=tuple(metrics),
            series_keys=tuple(series),
            data=tuple(data),
            outputs=tuple(outputs),
            log_size=None if log is None else log.size,
            log_truncated=False if log is None else bool(log.truncated),
            linked_commits=tuple(linked),
            run_folders=summary.run_folders,
            torch=TorchRuntime.from_json(run.torch_runtime),
            interpreter=run.interpreter,
            ignored_inputs=tuple(
                OutputFile(path=p, algorithm=a, value=v, size=n)
                for p, a, v, n in json.loads(run.ignored_inputs or "[]")
            ),
            owner=run.owner,
            digest=run.digest,
            annotations=tuple(annotations),
        )


def get_series(store: Store, run_id: RunId, key: str) -> chunks.Points:
    """One metric's whole step series, in step order."""
    with store.reading() as session:
        rows = session.execute(
            select(tables.MetricChunkRow.codec, tables.MetricChunkRow.payload, tables.MetricChunkRow.count)
            .join(tables.SeriesRow, tables.SeriesRow.id == tables.MetricChunkRow.series_id)
            .where(tables.SeriesRow.run_id == run_id, tables.SeriesRow.key == key)
            .order_by(tables.MetricChunkRow.id)
        ).all()
    return chunks.merge([chunks.decode(codec, payload, count) for codec, payload, count in rows])


def get_log(store: Store, run_id: RunId) -> str | None:
    """The run's captured output, None if it has none."""
    from ledger.capture.log_tee import decompress_log

    with store.reading() as session:
        data = session.scalar(select(tables.LogRow.data).where(tables.LogRow.run_id == run_id))
    return None if data is None else decompress_log(data)


def get_environment(store: Store, digest: str) -> Environment | None:
    """A stored environment lockfile."""
    from ledger.core.lockfile import Environment

    with store.reading() as session:
        lock = session.scalar(
            select(tables.EnvironmentRow.lock).where(tables.EnvironmentRow.digest == digest)
        )
    return None if lock is None else Environment.from_json(lock)


def _candidate(session: Session, run_id: str) -> str:
    run = session.get(tables.RunRow, run_id)
    name = f" {run.name}" if run is not None and run.name else ""
    return f"{run_id[:12]}{name}"


def _summary(
    run: tables.RunRow, short: str, tags: tuple[str, ...], params: dict[str, Any], metrics: dict[str, float]
) -> RunSummary:
    return RunSummary(
        id=RunId(run.id),
        short_id=short,
        name=run.name,
        status=run.status,
        source=run.source,
        started_at=run.started_at,
        ended_at=run.ended_at,
        exit_code=run.exit_code,
        commit=run.commit,
        branch=run.branch,
        dirty=run.dirty,
        tags=tags,
        params=params,
        metrics=metrics,
        run_folders=tuple(json.loads(run.run_folders or "[]")),
    )


def _float(value: float | None) -> float:
    return float("nan") if value is None else value


if TYPE_CHECKING:
    from ledger.core.verdict import ReproductionLink


def get_reproduction_links(
    store: Store, run_id: RunId
) -> tuple[ReproductionLink | None, tuple[ReproductionLink, ...]]:
    """The reproduction this run is (if any) and the reproductions of it, oldest first."""
    from ledger.core.verdict import ReproductionLink, verdict_from_json

    def link(row: tables.ReproductionRow) -> ReproductionLink:
        return ReproductionLink(
            run_id=row.run_id,
            original_id=row.original_id,
            matched=row.matched,
            created_at=row.created_at,
            verdict=verdict_from_json(row.verdict),
        )

    with store.reading() as session:
        own = session.get(tables.ReproductionRow, run_id)
        others = session.scalars(
            select(tables.ReproductionRow)
            .where(tables.ReproductionRow.original_id == run_id)
            .order_by(tables.ReproductionRow.created_at)
        ).all()
        return (None if own is None else link(own)), tuple(link(r) for r in others)


def find_run_started_in(store: Store, *, repo: str, since: float) -> RunId | None:
    """The newest run recorded from work tree `repo` since `since` (a reproduction's worktree)."""
    with store.reading() as session:
        found = session.scalar(
            select(tables.RunRow.id)
            .where(tables.RunRow.repo == repo, tables.RunRow.started_at >= since)
            .order_by(tables.RunRow.started_at.desc())
            .limit(1)
        )
    return None if found is None else RunId(found)


def is_archived(store: Store, run_id: RunId) -> bool:
    """Whether a run is archived (hidden from listings)."""
    with store.reading() as session:
        return bool(session.scalar(select(tables.RunRow.archived).where(tables.RunRow.id == run_id)))


def with_reproductions(store: Store, detail: RunDetail) -> RunDetail:
    """`detail` with its reproduction links filled in (for `ledger show`)."""
    import dataclasses

    reproduces, reproduced_by = get_reproduction_links(store, detail.summary.id)
    return dataclasses.replace(detail, reproduces=reproduces, reproduced_by=reproduced_by)
