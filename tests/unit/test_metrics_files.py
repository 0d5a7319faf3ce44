"""Where metrics and series come from, and the keys they are recorded under."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from ledger.capture.metrics_files import dvclive_dirs, read_dvclive_series, read_plot_series, shown_keys

if TYPE_CHECKING:
    from pathlib import Path


def test_a_key_one_file_holds_keeps_its_name() -> None:
    names = shown_keys({"metrics.json": {"acc", "loss"}, "eval/metrics.json": {"f1"}})

    assert names == {
        ("metrics.json", "acc"): "acc",
        ("metrics.json", "loss"): "loss",
        ("eval/metrics.json", "f1"): "f1",
    }


def test_a_key_two_files_hold_is_qualified_by_each_file() -> None:
    names = shown_keys({"train/metrics.json": {"dice", "loss"}, "evaluate/metrics.json": {"dice"}})

    assert names[("train/metrics.json", "dice")] == "train/metrics.json:dice"
    assert names[("evaluate/metrics.json", "dice")] == "evaluate/metrics.json:dice"
    assert names[("train/metrics.json", "loss")] == "loss"


def test_dvclive_folders_come_from_metrics_files_plots_and_written_files() -> None:
    found = dvclive_dirs(
        ["results/train/metrics.json", "scores.json"],
        ["results/eval/plots/metrics", "plots/prc.json"],
        ["runs/live/plots/metrics/loss.tsv", "train.py"],
    )

    assert found == ["dvclive", "results/eval", "results/train", "runs/live"]


def test_dvclive_series_are_keyed_by_their_summary_file(tmp_path: Path) -> None:
    folder = tmp_path / "results/train/plots/metrics"
    folder.mkdir(parents=True)
    (folder / "loss.tsv").write_text("timestamp\tstep\tloss\n1700000000000\t0\t1.5\n1700000001000\t1\t0.5\n")
    (folder / "broken.tsv").write_text("step\tother\n0\t1\n")

    series, errors = read_dvclive_series(tmp_path, ["dvclive", "results/train"])

    assert list(series) == ["results/train/metrics.json"]
    points = series["results/train/metrics.json"]["loss"]
    assert (list(points.steps), list(points.values)) == ([0, 1], [1.5, 0.5])
    assert len(errors) == 1
    assert "broken.tsv" in errors[0]


def test_plots_files_give_step_series_but_not_curves(tmp_path: Path) -> None:
    (tmp_path / "history.json").write_text(
        json.dumps({"train": [{"epoch": 0, "loss": math.inf}, {"epoch": 1, "loss": 0.5}]})
    )
    (tmp_path / "prc.json").write_text(
        json.dumps([{"recall": 0.9, "threshold": 0.1}, {"recall": 0.8, "threshold": 0.2}])
    )
    (tmp_path / "acc.csv").write_text("acc\n0.5\n0.7\n")
    (tmp_path / "bad.json").write_text("{not json")

    series, errors = read_plot_series(
        tmp_path, ["history.json", "prc.json", "acc.csv", "bad.json", "gone.json"]
    )

    assert set(series) == {"history.json", "acc.csv"}
    assert list(series["history.json"]["loss"].values) == [math.inf, 0.5]
    assert list(series["acc.csv"]["acc"].steps) == [0, 1]
    assert len(errors) == 1
    assert errors[0].startswith("bad.json: unreadable plots file")


def test_a_plots_table_whose_steps_go_back_is_not_a_series(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps([{"step": 2, "v": 1.0}, {"step": 1, "v": 2.0}]))

    assert read_plot_series(tmp_path, ["p.json"]) == ({}, [])
