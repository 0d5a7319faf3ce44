"""The data every system under comparison receives: the same params, series and runs.

Seeded, so exp-ledger, MLflow and plain sqlite3 store the very same values and the
query workload can check that all three return the same runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench_logging import values

if TYPE_CHECKING:
    from array import array

SERIES_KEYS = ("loss", "acc", "lr")
"""The three metrics of the logging workload, logged at every step."""

FINAL_KEYS = ("acc", "loss", "val_acc", "val_loss", "f1")
"""The five final metrics of every run in the run-creation workload."""

QUERY_FILTER = "params.optimizer = adam and metrics.acc > 0.5"
"""The query workload in our filter language (the `ledger list` argument)."""

QUERY_SORT = "-metrics.acc"
QUERY_LIMIT = 10

MLFLOW_FILTER = "params.optimizer = 'adam' and metrics.acc > 0.5"
"""The same query in MLflow's search syntax (its params are strings)."""

MLFLOW_EXPERIMENT = "bench"

CEILING_SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT, status TEXT, started_at REAL, ended_at REAL);
CREATE TABLE params (run_id TEXT, key TEXT, value TEXT, num REAL, PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE TABLE metrics (run_id TEXT, key TEXT, value REAL, PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE INDEX ix_metrics_key_value ON metrics (key, value);
CREATE TABLE series (id INTEGER PRIMARY KEY, run_id TEXT, key TEXT, UNIQUE (run_id, key));
CREATE TABLE points (series_id INTEGER, step INTEGER, ts INTEGER, value REAL,
                     PRIMARY KEY (series_id, step)) WITHOUT ROWID;
"""
"""The plain-sqlite3 ceiling: the tables a careful hand-written tracker would use."""

CEILING_QUERY = """
SELECT r.id, m.value FROM runs r
JOIN metrics m ON m.run_id = r.id AND m.key = 'acc'
WHERE m.value > 0.5
  AND EXISTS (SELECT 1 FROM params p WHERE p.run_id = r.id AND p.key = 'optimizer' AND p.value = 'adam')
ORDER BY m.value DESC LIMIT 10
"""

ParamValue = int | float | str | bool


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run of the run-creation workload."""

    name: str
    params: dict[str, ParamValue]
    finals: dict[str, float]


def logging_params() -> dict[str, ParamValue]:
    """The 20 params of the logging workload's one run."""
    return _params(random.Random(7))


def series(steps: int) -> dict[str, array[float]]:
    """The logging workload's three series (noisy, so storage is not flattered)."""
    loss, acc, lr = values(steps)
    return dict(zip(SERIES_KEYS, (loss, acc, lr), strict=True))


def run_specs(count: int) -> list[RunSpec]:
    """`count` runs with 20 params and 5 final metrics each, the same on every call."""
    rng = random.Random(count)
    specs = []
    for i in range(count):
        params = _params(rng)
        acc = rng.random()
        finals = {
            "acc": acc,
            "loss": 1.0 - 0.9 * acc + 0.1 * rng.random(),
            "val_acc": acc * rng.uniform(0.9, 1.0),
            "val_loss": rng.uniform(0.1, 2.0),
            "f1": acc * rng.uniform(0.8, 1.0),
        }
        specs.append(RunSpec(name=f"run-{i}", params=params, finals=finals))
    return specs


def param_text(value: ParamValue) -> str:
    """A param as MLflow stores it (`str()`), and as the ceiling's text column does."""
    return str(value)


def _params(rng: random.Random) -> dict[str, ParamValue]:
    return {
        "lr": 10 ** rng.uniform(-5, -1),
        "batch_size": rng.choice((16, 32, 64, 128, 256)),
        "epochs": rng.randint(1, 100),
        "optimizer": rng.choice(("adam", "sgd", "adamw")),
        "model.name": rng.choice(("resnet18", "resnet50", "vit-b16")),
        "model.dropout": round(rng.uniform(0, 0.5), 2),
        "model.layers": rng.randint(2, 48),
        "model.width": rng.choice((128, 256, 512, 1024)),
        "weight_decay": rng.choice((0.0, 1e-5, 1e-4, 1e-3)),
        "momentum": round(rng.uniform(0.8, 0.99), 3),
        "warmup_steps": rng.choice((0, 100, 500, 1000)),
        "scheduler": rng.choice(("cosine", "linear", "step")),
        "seed": rng.randint(0, 2**31),
        "augment": rng.random() < 0.5,
        "label_smoothing": rng.choice((0.0, 0.05, 0.1)),
        "grad_clip": rng.choice((0.5, 1.0, 5.0)),
        "data.fraction": round(rng.uniform(0.1, 1.0), 2),
        "data.shuffle": rng.random() < 0.9,
        "precision": rng.choice(("fp32", "bf16", "fp16")),
        "ema": rng.random() < 0.3,
    }
