"""Read workloads, alternated in one warm process: 3. the query, 4. one run with its series.

Every system opens its database once; then each iteration times every system in
turn (the order rotates), so drift in machine load hits all alike. The answers are
returned too, so the caller can check the three systems agree.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Callable
from typing import Any

import compare_data as d

Result = dict[str, Any]
Probe = Callable[[], Any]


def reads(spec: Result) -> Result:
    """Time the query and the run read on each system given in `spec`."""
    probes: dict[str, tuple[Probe, Probe]] = {"exp-ledger": _ours(spec["ours"])}
    if spec.get("mlflow"):
        probes["MLflow"] = _mlflow(spec["mlflow"])
    probes["sqlite3"] = _sqlite(spec["sqlite"])
    answers: dict[str, Result] = {}
    for name, (query, read) in probes.items():  # warm-up, and the answers to compare
        answers[name] = {"top": query(), "points": read()}
    times: dict[str, dict[str, list[float]]] = {n: {"query": [], "read": []} for n in probes}
    names = list(probes)
    for i in range(int(spec["iters"])):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            query, read = probes[name]
            for kind, probe in (("query", query), ("read", read)):
                start = time.perf_counter()
                probe()
                times[name][kind].append(time.perf_counter() - start)
    return {
        name: {
            "query": statistics.median(t["query"]),
            "read": statistics.median(t["read"]),
            **answers[name],
        }
        for name, t in times.items()
    }


def _ours(spec: Result) -> tuple[Probe, Probe]:
    """`ledger list FILTER --sort=-metrics.acc -n 10`'s query; `ledger show --json`'s reads."""
    from ledger.core.filters import parse_filter, parse_sort
    from ledger.core.ids import RunId
    from ledger.read import queries
    from ledger.store.engine import connect

    store = connect(f"sqlite:///{spec['db']}")
    where, sort = parse_filter(d.QUERY_FILTER), [parse_sort(d.QUERY_SORT)]
    run_id = RunId(spec["run_id"])

    def query() -> list[float]:
        runs = queries.list_runs(
            store, where=where, sort=sort, limit=d.QUERY_LIMIT, params=["*"], metrics=["*"]
        )
        return [r.metrics["acc"] for r in runs]

    def read() -> int:
        detail = queries.get_run(store, run_id)
        series = {k: queries.get_series(store, run_id, k) for k in detail.series_keys}
        return sum(len(p) for p in series.values())

    return query, read


def _mlflow(spec: Result) -> tuple[Probe, Probe]:
    """`search_runs` with the same filter and order; `get_run` + `get_metric_history`."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{spec['db']}")
    experiment = client.get_experiment_by_name(d.MLFLOW_EXPERIMENT)
    assert experiment is not None
    experiment_ids = [experiment.experiment_id]
    run_id = spec["run_id"]

    def query() -> list[float]:
        runs = client.search_runs(
            experiment_ids, d.MLFLOW_FILTER, order_by=["metrics.acc DESC"], max_results=d.QUERY_LIMIT
        )
        return [r.data.metrics["acc"] for r in runs]

    def read() -> int:
        run = client.get_run(run_id)
        history = {k: client.get_metric_history(run_id, k) for k in run.data.metrics}
        return sum(len(h) for h in history.values())

    return query, read


def _sqlite(spec: Result) -> tuple[Probe, Probe]:
    """The ceiling: the top-10 query, then those runs' params and metrics; one run's points."""
    conn = sqlite3.connect(spec["db"])
    run_id = spec["run_id"]

    def query() -> list[float]:
        top = conn.execute(d.CEILING_QUERY).fetchall()
        ids = [r[0] for r in top]
        marks = ",".join("?" * len(ids))
        conn.execute(f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})", ids).fetchall()  # noqa: S608 - placeholders only
        conn.execute(f"SELECT run_id, key, value FROM metrics WHERE run_id IN ({marks})", ids).fetchall()  # noqa: S608 - placeholders only
        return [r[1] for r in top]

    def read() -> int:
        conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        conn.execute("SELECT key, value FROM params WHERE run_id = ?", (run_id,)).fetchall()
        conn.execute("SELECT key, value FROM metrics WHERE run_id = ?", (run_id,)).fetchall()
        points = conn.execute(
            "SELECT s.key, p.step, p.ts, p.value FROM series s JOIN points p ON p.series_id = s.id "
            "WHERE s.run_id = ? ORDER BY s.key, p.step",
            (run_id,),
        ).fetchall()
        return len(points)

    return query, read
