"""`ledger export`: JSON (whole records, series included), CSV (one row per run), MLflow."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from typing import TYPE_CHECKING, Any

import pytest

from ledger.core.filters import parse_filter
from ledger.core.records import Metric, NewRun, Param, RunEnd
from ledger.store.engine import Store, connect
from ledger.store.writes import add_points, create_run, finish_run
from ledger.team.export import register, write_export
from tests.integration.test_sync import T0, pts, rich_run

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration


@pytest.fixture
def ledger_store(tmp_path: Path, migrated_ledger: Callable[[Path], Path]) -> Iterator[Store]:
    """A ledger at the schema head (a copy: a first open is not what export is about)."""
    store = connect(f"sqlite:///{migrated_ledger(tmp_path / 'ledger.db')}")
    yield store
    store.close()


def exported(store: Store, fmt: str, **kwargs: Any) -> str:
    out = io.StringIO()
    write_export(store, out, fmt=fmt, **kwargs)
    return out.getvalue()


def simple_run(
    store: Store, name: str, *, started_at: float, params: dict[str, Any], metrics: dict[str, float]
) -> str:
    from ledger.core.ids import new_run_id

    run_id = new_run_id()
    create_run(
        store,
        NewRun(
            id=run_id,
            source="run",
            started_at=started_at,
            name=name,
            params=[Param(k, v, "params.yaml") for k, v in params.items()],
        ),
    )
    finish_run(
        store,
        run_id,
        RunEnd(
            status="finished",
            ended_at=started_at + 10,
            metrics=[Metric(k, v, None, "metrics.json") for k, v in metrics.items()],
        ),
    )
    return run_id


def test_json_is_one_object_per_run_with_flat_params_metrics_and_series(store: Store) -> None:
    run_id = rich_run(store)

    (record,) = json.loads(exported(store, "json"))

    assert record["id"] == run_id
    assert record["params"] == {
        "amp": True,
        "epochs": 10,
        "layers": [64, 128],
        "lr": 0.1,
        "model": "resnet",
        "opt": None,
    }
    assert record["metrics"]["f1"] == 0.8
    assert record["metrics"]["nanval"] == "nan"
    assert record["series"]["loss"] == {
        "steps": [0, 1, 2, 3, 4],
        "values": [0.9, "nan", 0.5, 0.25, "inf"],
        "times_ms": [0, 1000, 2000, 3000, 4000],
    }
    assert record["tags"] == ["baseline", "sweep"]
    assert record["commit"] == "a" * 40
    assert record["linked_commits"] == ["e" * 40]
    assert record["environment"]["python_version"] == "3.11.7"
    assert record["log"]["size"] == 16


def test_json_without_series(ledger_store: Store) -> None:
    rich_run(ledger_store)

    (record,) = json.loads(exported(ledger_store, "json", series=False))

    assert record["series"] == {}


def test_json_of_an_empty_ledger_is_an_empty_list(ledger_store: Store) -> None:
    assert json.loads(exported(ledger_store, "json")) == []


def test_json_is_strict_json(ledger_store: Store) -> None:
    run_id = rich_run(ledger_store)
    add_points(ledger_store, run_id, {"x": pts([0], [-math.inf])})

    text = exported(ledger_store, "json")

    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_runs_are_exported_oldest_first_across_pages(
    ledger_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger.team.export_runs

    monkeypatch.setattr(ledger.team.export_runs, "PAGE", 2)
    for i in (3, 0, 4, 1, 2):
        simple_run(ledger_store, f"r{i}", started_at=T0 + i, params={}, metrics={})

    names = [r["name"] for r in json.loads(exported(ledger_store, "json"))]

    assert names == ["r0", "r1", "r2", "r3", "r4"]


def test_csv_has_one_row_per_run_and_a_column_per_key(ledger_store: Store) -> None:
    simple_run(ledger_store, "a", started_at=T0, params={"lr": 0.1, "opt": {"b": [1]}}, metrics={"acc": 0.9})
    simple_run(
        ledger_store, "b", started_at=T0 + 1, params={"lr": 0.01, "amp": True}, metrics={"loss": math.nan}
    )

    rows = list(csv.DictReader(io.StringIO(exported(ledger_store, "csv"))))

    assert [r["name"] for r in rows] == ["a", "b"]
    assert list(rows[0])[-5:] == ["params.amp", "params.lr", "params.opt", "metrics.acc", "metrics.loss"]
    assert (rows[0]["params.lr"], rows[0]["params.opt"], rows[0]["params.amp"]) == ("0.1", '{"b": [1]}', "")
    assert (rows[1]["params.amp"], rows[1]["metrics.loss"], rows[1]["metrics.acc"]) == ("true", "nan", "")
    assert rows[0]["started_at"] == "2026-01-01T00:00:00+00:00"
    assert rows[0]["duration"] == "10.0"


def test_export_with_a_filter(ledger_store: Store) -> None:
    simple_run(ledger_store, "keep", started_at=T0, params={"lr": 0.1}, metrics={})
    simple_run(ledger_store, "drop", started_at=T0 + 1, params={"lr": 0.5}, metrics={})

    records = json.loads(exported(ledger_store, "json", where=parse_filter("params.lr < 0.2")))

    assert [r["name"] for r in records] == ["keep"]


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ledger")
    register(parser.add_subparsers(dest="command_name", required=True))
    args = parser.parse_args(["export", *argv])
    return int(args.func(args))


def test_cmd_export_writes_a_file(tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]) -> None:
    from ledger.store.workspace import locate

    store = connect(locate().url)
    rich_run(store)
    store.close()

    assert run_cli("--format", "csv", "-o", "runs.csv") == 0

    assert "exported 1 run(s) to runs.csv" in capsys.readouterr().err
    assert (tmp_repo.root / "runs.csv").read_text().startswith("id,name,status")


def test_cmd_export_to_mlflow_needs_a_tracking_uri(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    from ledger.core.errors import LedgerError

    with pytest.raises(LedgerError, match="--tracking-uri"):
        run_cli("--to", "mlflow")


# MLflow (optional extra)


@pytest.mark.filterwarnings(
    # MLflow's own SQLAlchemy store uses a loader SQLAlchemy 2.1 deprecates.
    "ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning"
)
def test_export_to_mlflow_through_its_client(ledger_store: Store, tmp_path: Path) -> None:
    pytest.importorskip("mlflow", reason="mlflow is an optional extra (pip install 'exp-ledger[mlflow]')")
    from mlflow.tracking import MlflowClient

    from ledger.team.export_mlflow import RUN_ID_TAG, export_to_mlflow

    run_id = rich_run(ledger_store)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    first = export_to_mlflow(ledger_store, tracking_uri=uri, experiment="team")
    again = export_to_mlflow(ledger_store, tracking_uri=uri, experiment="team")

    assert (first.created, first.skipped, again.created, again.skipped) == (1, 0, 0, 1)
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([first.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "full"
    assert run.info.start_time == int(1000 * T0)
    assert run.info.end_time == int(1000 * (T0 + 60))
    tags = run.data.tags
    assert tags["mlflow.source.git.commit"] == "a" * 40
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["mlflow.source.name"] == "train.py"
    assert tags["mlflow.user"] == "ana"
    assert tags[RUN_ID_TAG] == run_id
    assert tags["baseline"] == "true"
    assert run.data.params == {
        "lr": "0.1",
        "epochs": "10",
        "model": "resnet",
        "amp": "true",
        "opt": "null",
        "layers": "[64, 128]",
    }
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.timestamp) for m in history] == [(s, 1000 * s) for s in range(5)]
    values = [m.value for m in history]
    assert values[0] == 0.9
    assert math.isnan(values[1])
    assert values[3] == 0.25
    assert values[4] == sys.float_info.max  # MLflow's SQL store clamps infinities
    assert run.data.metrics["f1"] == 0.8
