"""Write workloads, each run by `compare_child.py` in a process of its own (a fresh interpreter;
at the smoke size, a fork of one that imported the libraries).

Imports and database creation happen before the clock starts; every case gets a
copy of a template database that already holds its (empty) schema.

1. logging: one run, 20 params, 3 metrics x N steps;
2. run creation: N runs with 20 params and 5 final metrics each.
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Any

import compare_data as d

if TYPE_CHECKING:
    from collections.abc import Callable

Result = dict[str, Any]


def prepare(spec: Result) -> Result:
    """Template databases: our migrated ledger, MLflow's tables + experiment, the ceiling's."""
    from ledger.store.engine import connect

    store = connect(f"sqlite:///{spec['ours']}")
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    with sqlite3.connect(spec["sqlite"]) as ceiling:
        ceiling.executescript(d.CEILING_SCHEMA)
        ceiling.execute("PRAGMA journal_mode=WAL")
    ceiling.close()
    if spec.get("mlflow"):
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{spec['mlflow']}")
        client.create_experiment(d.MLFLOW_EXPERIMENT, artifact_location=spec["artifacts"])
    return {}


# -- 1. logging ---------------------------------------------------------------------------


def log_ours(spec: Result) -> Result:
    """`ledger.log_params` once, `ledger.log_metrics({3 keys}, step=i)` per step."""
    import ledger

    steps = int(spec["steps"])
    s, params = d.series(steps), d.logging_params()
    loss, acc, lr = s["loss"], s["acc"], s["lr"]
    t0 = time.perf_counter()
    with ledger.start_run(name="logging") as run:
        t1 = time.perf_counter()
        ledger.log_params(params)
        for i in range(steps):
            ledger.log_metrics({"loss": loss[i], "acc": acc[i], "lr": lr[i]}, step=i)
        t2 = time.perf_counter()
    t3 = time.perf_counter()
    return _phases(t0, t1, t2, t3, run_id=run.id)


def log_mlflow(spec: Result) -> Result:
    """MLflow's fluent API: `log_metric` per value, `log_metrics` per step, or one `log_batch`."""
    import mlflow
    from mlflow.entities import Metric, Param

    steps, mode = int(spec["steps"]), spec["mode"]
    s, params = d.series(steps), d.logging_params()
    mlflow.set_tracking_uri(f"sqlite:///{spec['db']}")
    mlflow.set_experiment(d.MLFLOW_EXPERIMENT)  # opens the store: not timed
    t0 = time.perf_counter()
    with mlflow.start_run(run_name="logging") as run:
        t1 = time.perf_counter()
        if mode == "log_metric":
            mlflow.log_params(params)
            for i in range(steps):
                for key in d.SERIES_KEYS:
                    mlflow.log_metric(key, s[key][i], step=i)
        elif mode == "log_metrics":
            mlflow.log_params(params)
            for i in range(steps):
                mlflow.log_metrics({key: s[key][i] for key in d.SERIES_KEYS}, step=i)
        else:  # log_batch: the loop collects, one call writes (MLflow splits it in 1,000s)
            now = int(time.time() * 1000)
            metrics = [Metric(key, s[key][i], now, i) for i in range(steps) for key in d.SERIES_KEYS]
            batch = [Param(k, d.param_text(v)) for k, v in params.items()]
            mlflow.MlflowClient().log_batch(run.info.run_id, metrics=metrics, params=batch)
        t2 = time.perf_counter()
    t3 = time.perf_counter()
    return _phases(t0, t1, t2, t3, run_id=run.info.run_id)


def log_sqlite(spec: Result) -> Result:
    """The ceiling: the same rows through plain sqlite3, one transaction for the points.

    `per_call` executes one INSERT per point (a Python loop, like the APIs' loops);
    `batch` builds the rows and makes one `executemany`.
    """
    steps, batch = int(spec["steps"]), spec["mode"] == "batch"
    s, params = d.series(steps), d.logging_params()
    conn = _ceiling_connect(spec["db"])
    t0 = time.perf_counter()
    now = time.time()
    with conn:
        conn.execute("INSERT INTO runs VALUES ('logging', 'logging', 'running', ?, NULL)", (now,))
    t1 = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO params VALUES ('logging', ?, ?, ?)",
            [(k, d.param_text(v), _num(v)) for k, v in params.items()],
        )
        ids = {}
        for key in d.SERIES_KEYS:
            ids[key] = conn.execute(
                "INSERT INTO series (run_id, key) VALUES ('logging', ?)", (key,)
            ).lastrowid
        ms = int(now * 1000)
        if batch:
            rows = [(ids[k], i, ms, s[k][i]) for i in range(steps) for k in d.SERIES_KEYS]
            conn.executemany("INSERT INTO points VALUES (?, ?, ?, ?)", rows)
        else:
            for i in range(steps):
                for key in d.SERIES_KEYS:
                    conn.execute("INSERT INTO points VALUES (?, ?, ?, ?)", (ids[key], i, ms, s[key][i]))
        conn.executemany(
            "INSERT INTO metrics VALUES ('logging', ?, ?)", [(k, s[k][steps - 1]) for k in d.SERIES_KEYS]
        )
    t2 = time.perf_counter()
    with conn:
        conn.execute("UPDATE runs SET status = 'finished', ended_at = ? WHERE id = 'logging'", (time.time(),))
    t3 = time.perf_counter()
    conn.close()
    return _phases(t0, t1, t2, t3, run_id="logging")


# -- 2. run creation ----------------------------------------------------------------------


def runs_ours(spec: Result) -> Result:
    """Through the recorder, the layer `ledger run` and `start_run` write with: one
    transaction to create the run with its params, one to finish it with its metrics."""
    from ledger.core import records
    from ledger.core.ids import new_run_id
    from ledger.core.records import Metric, Param
    from ledger.store import writes as recorder
    from ledger.store.engine import connect

    specs = d.run_specs(int(spec["count"]))
    store = connect(f"sqlite:///{spec['db']}")

    def once(run: d.RunSpec) -> None:
        run_id = new_run_id()
        params = [Param(key=k, value=v, source="api") for k, v in run.params.items()]
        recorder.create_run(
            store,
            records.NewRun(id=run_id, source="api", started_at=time.time(), name=run.name, params=params),
        )
        metrics = [Metric(key=k, value=v, step=None, source="api") for k, v in run.finals.items()]
        end = records.RunEnd(status="finished", ended_at=time.time(), exit_code=0, metrics=metrics)
        recorder.finish_run(store, run_id, end)

    result = _loop(specs, once)
    store.close()
    return result


def runs_ours_api(spec: Result) -> Result:
    """The user's API, capture included: `with ledger.start_run(params=...)` + `log_metrics`."""
    import ledger

    # `ledger` loads its API on first use: load it before the clock, as `import mlflow` is.
    start_run, log_metrics = ledger.start_run, ledger.log_metrics

    def once(run: d.RunSpec) -> None:
        with start_run(name=run.name, params=run.params):
            log_metrics(run.finals)

    return _loop(d.run_specs(int(spec["count"])), once)


def runs_mlflow(spec: Result) -> Result:
    """MLflow's cheapest way: `create_run`, one `log_batch`, `set_terminated`."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{spec['db']}")
    experiment = client.get_experiment_by_name(d.MLFLOW_EXPERIMENT)
    assert experiment is not None

    def once(run: d.RunSpec) -> None:
        created = client.create_run(experiment.experiment_id, run_name=run.name)
        run_id = created.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in run.finals.items()],
            params=[Param(k, d.param_text(v)) for k, v in run.params.items()],
        )
        client.set_terminated(run_id)

    return _loop(d.run_specs(int(spec["count"])), once)


def runs_mlflow_api(spec: Result) -> Result:
    """MLflow's fluent API, its run context (git commit, user, source) included."""
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{spec['db']}")
    mlflow.set_experiment(d.MLFLOW_EXPERIMENT)

    def once(run: d.RunSpec) -> None:
        with mlflow.start_run(run_name=run.name):
            mlflow.log_params(run.params)
            mlflow.log_metrics(run.finals)

    return _loop(d.run_specs(int(spec["count"])), once)


def runs_sqlite(spec: Result) -> Result:
    """The ceiling: one transaction per run (run row, 20 params, 5 metrics)."""
    conn = _ceiling_connect(spec["db"])

    def once(run: d.RunSpec) -> None:
        now = time.time()
        run_id = f"{time.time_ns():x}"
        with conn:
            conn.execute("INSERT INTO runs VALUES (?, ?, 'finished', ?, ?)", (run_id, run.name, now, now))
            conn.executemany(
                "INSERT INTO params VALUES (?, ?, ?, ?)",
                [(run_id, k, d.param_text(v), _num(v)) for k, v in run.params.items()],
            )
            conn.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?)", [(run_id, k, v) for k, v in run.finals.items()]
            )

    result = _loop(d.run_specs(int(spec["count"])), once)
    conn.close()
    return result


CASES: dict[str, Callable[[Result], Result]] = {
    "prepare": prepare,
    "log-ours": log_ours,
    "log-mlflow": log_mlflow,
    "log-sqlite": log_sqlite,
    "runs-ours": runs_ours,
    "runs-ours-api": runs_ours_api,
    "runs-mlflow": runs_mlflow,
    "runs-mlflow-api": runs_mlflow_api,
    "runs-sqlite": runs_sqlite,
}


def _phases(t0: float, t1: float, t2: float, t3: float, *, run_id: str) -> Result:
    """start = run created; log = params and points; end = closing the run.

    `logging` (log + end) is what the goal compares: everything from the first
    logging call until the points are in the database and the run is closed.
    """
    return {"start": t1 - t0, "log": t2 - t1, "end": t3 - t2, "logging": t3 - t1, "run_id": run_id}


def _loop(specs: list[d.RunSpec], once: Callable[[d.RunSpec], None]) -> Result:
    start = time.perf_counter()
    for run in specs:
        once(run)
    return {"total": time.perf_counter() - start, "count": len(specs)}


def _ceiling_connect(path: str) -> sqlite3.Connection:
    """WAL and synchronous=FULL: the durability the ledger opens SQLite with."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def _num(value: d.ParamValue) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
