"""`ledger export`: runs as JSON (one object per run, with series) or CSV (one row per run).

JSON carries the whole record, so two ledgers holding the same runs export the same
bytes (IDs, not the ledger-relative short IDs); CSV is the table for spreadsheets
and pandas: run fields, then one `params.<key>` and one `metrics.<key>` column per
key any exported run has. `--to mlflow` hands the runs to an MLflow tracking
server through MLflow's own client (`ledger.team.export_mlflow`).

Only the standard library is imported at module level: the CLI registers us, and
`ledger --help` must not pay for SQLAlchemy (`ledger.team.export_runs` reads the runs).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ledger.capture.seeds import script_seeds
from ledger.core.errors import LedgerError

if TYPE_CHECKING:
    import argparse

    from ledger.core.filters import Expr
    from ledger.store.engine import Store
    from ledger.team.export_runs import ExportedRun

CSV_RUN_COLUMNS = (
    "id",
    "name",
    "status",
    "source",
    "started_at",
    "ended_at",
    "duration",
    "exit_code",
    "commit",
    "branch",
    "dirty",
    "tags",
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ledger export` to the CLI."""
    p = sub.add_parser(
        "export",
        help="export runs as JSON or CSV, or into an MLflow tracking server",
        description=(
            "Write runs as JSON (one object per run, every part of the record, metric series "
            "included) or CSV (one row per run, params.* and metrics.* columns), or copy them "
            "into MLflow with --to mlflow (pip install 'exp-ledger[mlflow]')."
        ),
    )
    p.add_argument("filter", nargs="*", help="only the runs matching this filter, e.g. 'tag:paper'")
    p.add_argument("--format", choices=("json", "csv"), default="json", help="file format (default json)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--no-series", action="store_true", help="JSON without the metric step series")
    p.add_argument("--to", choices=("mlflow",), help="export into another tool instead of a file")
    p.add_argument("--tracking-uri", metavar="URI", help="MLflow tracking URI (with --to mlflow)")
    p.add_argument(
        "--experiment", metavar="NAME", help="MLflow experiment (default: the repository's folder name)"
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Run `ledger export`."""
    # Not at the top: the CLI imports this module to list the command.
    from ledger.core.filters import parse_filter
    from ledger.store.workspace import locate, open_store

    where = parse_filter(" ".join(args.filter)) if args.filter else None
    ws = locate()
    store = open_store(ws)
    try:
        if args.to == "mlflow":
            from ledger.team.export_mlflow import export_to_mlflow

            if not args.tracking_uri:
                raise LedgerError(
                    "--to mlflow needs --tracking-uri", hint="e.g. --tracking-uri http://mlflow:5000"
                )
            experiment = args.experiment or (ws.repo.toplevel.name if ws.repo is not None else "exp-ledger")
            report = export_to_mlflow(
                store, tracking_uri=args.tracking_uri, experiment=experiment, where=where
            )
            sys.stdout.write(
                f"exported {report.created} run(s) to MLflow experiment {experiment!r} at "
                f"{args.tracking_uri}; {report.skipped} were there already\n"
            )
            return 0
        if args.output:
            with Path(args.output).open("w", newline="", encoding="utf-8") as out:
                count = write_export(store, out, fmt=args.format, where=where, series=not args.no_series)
            sys.stderr.write(f"exported {count} run(s) to {args.output}\n")
        else:
            write_export(store, sys.stdout, fmt=args.format, where=where, series=not args.no_series)
    finally:
        store.close()
    return 0


def write_export(
    store: Store, out: TextIO, *, fmt: str, where: Expr | None = None, series: bool = True
) -> int:
    """Write the runs matching `where`, oldest first, as `json` or `csv`; returns how many."""
    from ledger.team.export_runs import iter_runs

    if fmt == "csv":
        return _write_csv(store, out, where=where)
    count = 0
    out.write("[")
    for run in iter_runs(store, where=where, series=series):
        out.write(",\n" if count else "\n")
        out.write(json.dumps(to_dict(run), sort_keys=True, allow_nan=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def to_dict(run: ExportedRun) -> dict[str, Any]:
    """A run as a plain JSON object (NaN and infinities as the strings `nan`, `inf`, `-inf`)."""
    d, s = run.detail, run.detail.summary
    record: dict[str, Any] = {
        "id": s.id,
        "name": s.name,
        "status": s.status,
        "source": s.source,
        "started_at": s.started_at,
        "ended_at": s.ended_at,
        "duration": s.duration,
        "exit_code": s.exit_code,
        "commit": s.commit,
        "branch": s.branch,
        "dirty": s.dirty,
        "snapshot": d.snapshot,
        "snapshot_skipped": [list(p) for p in d.snapshot_skipped],
        "linked_commits": list(d.linked_commits),
        "argv": list(d.argv),
        "cwd": d.cwd,
        "repo": d.repo,
        "host": d.host,
        "user": d.user,
        "pid": d.pid,
        "peak_rss": d.peak_rss,
        "seeds": d.seeds,
        "seeded": bool(script_seeds(d.seeds)),
        "interpreter": d.interpreter,
        "env_vars": d.env_vars,
        "tags": list(s.tags),
        "note": d.note,
        "archived": run.archived,
        "capture_errors": list(d.capture_errors),
        "params": {p.key: p.value for p in d.params},
        "param_sources": {p.key: p.source for p in d.params},
        "metrics": {m.key: m.value for m in d.metrics},
        "metric_steps": {m.key: m.step for m in d.metrics},
        "metric_sources": {m.key: m.source for m in d.metrics},
        "data": [
            {
                "path": i.path,
                "role": i.role,
                "algorithm": i.algorithm,
                "value": i.value,
                "size": i.size,
                "nfiles": i.nfiles,
                "source": i.source,
                "stage": i.stage,
                "workspace_match": i.workspace_match,
                "checked": i.checked,
                "files": [dataclasses.asdict(f) for f in i.files],
            }
            for i in d.data
        ],
        "outputs": [
            {"path": o.path, "algorithm": o.algorithm, "value": o.value, "size": o.size} for o in d.outputs
        ],
        "run_folders": list(d.run_folders),
        "ignored_inputs": [
            {"path": i.path, "algorithm": i.algorithm, "value": i.value, "size": i.size}
            for i in d.ignored_inputs
        ],
        "environment": None if run.environment is None else json.loads(run.environment.to_json()),
        "torch": None if d.torch is None else json.loads(d.torch.to_json()),
        "environment_digest": d.environment_digest,
        "log": None
        if d.log_size is None
        else {"size": d.log_size, "truncated": d.log_truncated, "sha256": run.log_sha256},
        "reproduces": run.reproduces,
        "series": {
            key: {"steps": list(p.steps), "values": list(p.values), "times_ms": list(p.times_ms)}
            for key, p in sorted(run.series.items())
        },
    }
    cleaned: dict[str, Any] = _finite(record)
    return cleaned


def csv_value(value: object) -> str:
    """A cell: booleans as true/false, lists and mappings as JSON, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, (list, dict)):
        return json.dumps(_finite(value), sort_keys=True)
    return str(value)


def _write_csv(store: Store, out: TextIO, *, where: Expr | None) -> int:
    from ledger.team.export_runs import summaries

    runs = list(summaries(store, where=where, values=True))
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_RUN_COLUMNS, *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics)])
    for r in runs:
        row: list[object] = [
            r.id,
            r.name,
            r.status,
            r.source,
            _iso(r.started_at),
            None if r.ended_at is None else _iso(r.ended_at),
            r.duration,
            r.exit_code,
            r.commit,
            r.branch,
            r.dirty,
            ",".join(r.tags),
        ]
        row += [r.params.get(k) if k in r.params else None for k in params]
        row += [r.metrics.get(k) for k in metrics]
        writer.writerow([csv_value(v) for v in row])
    return len(runs)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_text(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()
