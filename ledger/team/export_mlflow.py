"""Export runs into an MLflow tracking server through MLflow's own client.

A team that already keeps an MLflow server sees our runs there: params, metrics
with their steps and times, the run's status and times, and tags, among them
MLflow's own `mlflow.source.git.commit`, so MLflow links the run to its code.
Each exported run carries `exp_ledger.run_id`; exporting again skips the runs the
experiment already has. MLflow is an optional extra: `pip install 'exp-ledger[mlflow]'`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.core.commandline import find_program
from ledger.core.errors import LedgerError
from ledger.team.export_runs import ExportedRun, iter_runs

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ledger.core.filters import Expr
    from ledger.store.engine import Store

RUN_ID_TAG = "exp_ledger.run_id"
"""The MLflow tag holding our run ID: how a second export knows what is there."""

STATUS = {"finished": "FINISHED", "failed": "FAILED", "crashed": "FAILED", "interrupted": "KILLED"}
"""Our end states in MLflow's words; a running run stays RUNNING."""

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
"""MLflow's documented limits for one `log_batch` call and for values."""

_TAG_KEY = re.compile(r"^[\w\-. /]{1,250}$")
"""Tag names MLflow accepts as keys; others are kept only in `exp_ledger.tags`."""


@dataclass(frozen=True, slots=True)
class MlflowReport:
    """What an export into MLflow did."""

    experiment_id: str
    created: int
    skipped: int


def export_to_mlflow(
    store: Store, *, tracking_uri: str, experiment: str, where: Expr | None = None
) -> MlflowReport:
    """Create one MLflow run per ledger run matching `where` that MLflow does not have yet.

    Raises:
        LedgerError: MLflow is not installed, or the tracking server refused us.
    """
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError as e:
        raise LedgerError(
            "exporting to MLflow needs the mlflow package", hint="pip install 'exp-ledger[mlflow]'"
        ) from e
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found is not None else client.create_experiment(experiment)
        known = _exported_ids(client, experiment_id)
        created = skipped = 0
        for run in iter_runs(store, where=where):
            if run.detail.summary.id in known:
                skipped += 1
                continue
            _export_run(client, experiment_id, run)
            created += 1
    except MlflowException as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LedgerError(f"MLflow at {tracking_uri} refused the export: {message}") from e
    return MlflowReport(experiment_id=experiment_id, created=created, skipped=skipped)


def mlflow_tags(run: ExportedRun) -> dict[str, str]:
    """The tags an exported run gets: MLflow's own `mlflow.*` ones, ours, and the run's labels."""
    d, s = run.detail, run.detail.summary
    tags = {
        RUN_ID_TAG: s.id,
        "exp_ledger.status": s.status,
        "exp_ledger.source": s.source,
        "mlflow.source.type": "LOCAL",
    }
    optional = {
        "mlflow.source.git.commit": s.commit,
        "mlflow.source.git.branch": s.branch,
        "mlflow.source.name": _entry_point(d.argv),
        "mlflow.user": d.user,
        "mlflow.note.content": d.note,
        "exp_ledger.snapshot": d.snapshot,
        "exp_ledger.dirty": None if s.dirty is None else str(s.dirty).lower(),
        "exp_ledger.host": d.host,
        "exp_ledger.command": " ".join(d.argv) or None,
        "exp_ledger.environment": d.environment_digest,
        "exp_ledger.tags": ",".join(s.tags) or None,
    }
    tags.update({k: v for k, v in optional.items() if v is not None})
    for label in s.tags:
        if _TAG_KEY.match(label) and not label.startswith(("mlflow.", "exp_ledger.")):
            tags[label] = "true"
    return {k: v[:MAX_TAG_VALUE] for k, v in tags.items()}


def param_text(value: object) -> str:
    """A typed param as MLflow's string: text as is, everything else as JSON (`true`, `0.1`)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:MAX_PARAM_VALUE]


def metric_points(run: ExportedRun) -> Iterator[tuple[str, float, int, int]]:
    """(key, value, timestamp in ms, step) for every point of every metric.

    A series gives all its points; a final value read from a file (no step) is
    added as the newest point when the series does not end on it, so MLflow's
    "latest value" is the ledger's final value.
    """
    d, s = run.detail, run.detail.summary
    end_ms = int(1000 * (s.ended_at if s.ended_at is not None else s.started_at))
    for key, points in sorted(run.series.items()):
        for step, time_ms, value in zip(points.steps, points.times_ms, points.values, strict=True):
            yield key, value, time_ms, step
    for m in d.metrics:
        points_ = run.series.get(m.key)
        if points_ is not None and len(points_):
            newest = points_.values[-1]
            same = newest == m.value or (math.isnan(newest) and math.isnan(m.value))
            if m.step is not None or same:
                continue
            yield m.key, m.value, end_ms, points_.steps[-1]
        else:
            yield m.key, m.value, end_ms, 0 if m.step is None else m.step


def _export_run(client: Any, experiment_id: str, run: ExportedRun) -> None:
    from mlflow.entities import Metric, Param, RunTag

    s = run.detail.summary
    tags = mlflow_tags(run)
    created = client.create_run(
        experiment_id,
        start_time=int(1000 * s.started_at),
        tags={RUN_ID_TAG: tags[RUN_ID_TAG]},
        run_name=s.name,
    )
    mlflow_id = created.info.run_id
    params = [Param(p.key[:250], param_text(p.value)) for p in run.detail.params]
    for batch in _batches(params, MAX_PARAMS_PER_BATCH):
        client.log_batch(mlflow_id, params=batch)
    tag_list = [RunTag(k, v) for k, v in tags.items()]
    for batch in _batches(tag_list, MAX_TAGS_PER_BATCH):
        client.log_batch(mlflow_id, tags=batch)
    metrics = [Metric(k[:250], float(v), t, st) for k, v, t, st in metric_points(run)]
    for batch in _batches(metrics, MAX_METRICS_PER_BATCH):
        client.log_batch(mlflow_id, metrics=batch)
    status = STATUS.get(s.status)
    if status is not None:
        end = s.ended_at if s.ended_at is not None else s.started_at
        client.set_terminated(mlflow_id, status=status, end_time=int(1000 * end))


def _exported_ids(client: Any, experiment_id: str) -> set[str]:
    """Our run IDs already in the experiment (paged through MLflow's search)."""
    found: set[str] = set()
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        found.update(r.data.tags[RUN_ID_TAG] for r in page if RUN_ID_TAG in r.data.tags)
        token = page.token
        if not token:
            return found


def _entry_point(argv: Sequence[str]) -> str | None:
    """The script a command ran (`python train.py` -> `train.py`), as MLflow's source name."""
    if not argv:
        return None
    program = find_program(argv)
    return argv[0] if program is None else program.entry


def _batches(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
