"""The UI's pure parts: sparklines, settings, columns, status words, and the entry point."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ledger.core.filters import Field, SortKey, parse_filter
from ledger.core.ids import RunId
from ledger.core.summary import RunSummary
from ledger.tui.columns import RowContext, column_set, make_row
from ledger.tui.runs_status import empty_text, sort_text, status_line
from ledger.tui.settings import DEFAULT_BASE, UiSettings, load_settings, save_settings
from ledger.tui.sparkline import sparkline
from ledger.tui.widgets.table_model import fit


@pytest.mark.parametrize(
    ("values", "width", "expected"),
    [
        ([1.0, 2.0, 3.0], 3, "▁▅█"),
        ([5.0, 5.0], 4, "▄▄"),
        ([1.0, float("nan"), 3.0], 3, "▁ █"),
        ([float("inf")], 2, " "),
        ([1.0, 2.0, 3.0, 4.0], 2, "▁█"),
    ],
    ids=["rising", "flat", "nan-gap", "only-inf", "last-values"],
)
def test_sparkline(values, width, expected):
    assert sparkline(values, width) == expected


@pytest.mark.parametrize(
    ("text", "width", "justify", "expected"),
    [
        ("abc", 5, "left", "abc  "),
        ("abc", 5, "right", "  abc"),
        ("abcdef", 4, "left", "abc…"),
        ("日本語", 4, "left", "日 …"),
    ],
    ids=["pad-left", "pad-right", "cut", "wide-characters"],
)
def test_fit(text, width, justify, expected):
    assert fit(text, width, justify) == expected


def test_settings_round_trip(tmp_path):
    path = tmp_path / "ui.json"
    chosen = UiSettings(base=("status", "name"), params=("lr",), metrics=("acc",), main_metric="loss")

    save_settings(path, chosen)

    assert load_settings(path) == chosen


def test_missing_settings_are_the_defaults(tmp_path):
    assert load_settings(tmp_path / "absent.json") == UiSettings()


@pytest.mark.parametrize(
    ("content", "problem"),
    [("{not json", "unreadable"), ("[1, 2]", "JSON object"), ('{"params": "lr"}', "list of names")],
    ids=["broken", "not-an-object", "wrong-type"],
)
def test_bad_settings_fall_back_with_a_problem(tmp_path, content, problem):
    path = tmp_path / "ui.json"
    path.write_text(content)

    settings = load_settings(path)

    assert settings.base == DEFAULT_BASE
    assert settings.params is None
    assert problem in settings.problems[0]


def test_unknown_base_columns_are_dropped(tmp_path):
    path = tmp_path / "ui.json"
    path.write_text('{"base": ["status", "colour"]}')

    settings = load_settings(path)

    assert settings.base == ("status",)
    assert "colour" in settings.problems[0]


def test_columns_add_the_fields_the_filter_and_sort_use():
    columns = column_set(
        UiSettings(params=("lr",), metrics=()),
        main_metric="loss",
        where=parse_filter("metrics.f1 > 0.5 and params.lr < 1"),
        sort=[SortKey(Field("params", "seed"))],
    )

    assert columns.params == ("lr", "seed")
    assert columns.metrics == ("f1",)
    assert [c.key for c in columns.columns][:5] == ["status", "age", "name", "id", "spark"]


def test_sort_fields_of_columns():
    columns = column_set(UiSettings(), auto_params=("lr",), auto_metrics=("acc",), main_metric="loss")

    assert columns.sort_field("age") == Field("run", "started")
    assert columns.sort_field("spark") == Field("metrics", "loss")
    assert columns.sort_field("params:lr") == Field("params", "lr")
    assert columns.sort_field("tags") is None
    assert columns.column_for(SortKey(Field("run", "started"))) == "age"
    assert columns.column_for(SortKey(Field("metrics", "acc"))) == "metrics:acc"


def test_a_param_and_metric_of_the_same_name_get_a_prefix():
    columns = column_set(UiSettings(params=("loss",), metrics=("loss",)))

    labels = [c.label for c in columns.columns if ":" in c.key]
    assert labels == ["m.loss", "p.loss"]


def test_rows_show_dirty_commits_nan_and_missing_values():
    run = RunSummary(
        id=RunId("a" * 32), short_id="aaaaaaa", name=None, status="failed", source="run", started_at=0.0,
        ended_at=90.0, exit_code=1, commit="1234567890", branch=None, dirty=True, tags=("x", "y"),
        params={"lr": 0.1}, metrics={"acc": float("nan")},
    )  # fmt: skip
    columns = column_set(UiSettings(), auto_params=("lr", "seed"), auto_metrics=("acc",))

    row = make_row(run, columns.columns, RowContext(now=7200.0))

    cells = {c.key: cell for c, cell in zip(columns.columns, row.cells, strict=True)}
    assert (cells["status"].text, cells["status"].style) == ("failed", "status-failed")
    assert cells["age"].text == "2h"
    assert cells["name"].text == "-"
    assert (cells["commit"].text, cells["commit"].style) == ("1234567*", "warning")
    assert cells["tags"].text == "x,y"
    assert (cells["metrics:acc"].text, cells["metrics:acc"].style) == ("nan", "warning")
    assert cells["params:seed"].text == "-"


def test_status_line():
    line = status_line(
        total=1234,
        cursor=9,
        sort=[SortKey(Field("metrics", "acc"), descending=True)],
        archived=True,
        marked=2,
    )

    assert (
        line
        == "10 of 1,234 runs · sorted by metrics.acc descending · showing archived · 2 marked (d diffs them)"
    )
    assert status_line(total=None, cursor=0, sort=(), archived=False, marked=0) == "counting runs…"
    assert sort_text(SortKey(Field("run", "started"))) == "oldest first"


@pytest.mark.parametrize(
    ("filtered", "ledger_total", "start"),
    [(True, 5, "No run matches"), (False, 5, "Every run is archived"), (False, 0, "No runs yet")],
    ids=["filter", "archived", "empty"],
)
def test_empty_text(filtered, ledger_total, start):
    assert empty_text(filtered=filtered, ledger_total=ledger_total).startswith(start)


def test_ui_command_registers_ledger_ui_without_importing_textual():
    code = (
        "import argparse, sys\n"
        "from ledger.cli import ui\n"
        "p = argparse.ArgumentParser()\n"
        "ui.register(p.add_subparsers())\n"
        "a = p.parse_args(['ui', 'tag:best', 'and', 'metrics.acc', '>', '0.9'])\n"
        "print(a.func.__name__, ' '.join(a.filter))\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.splitlines() == ["cmd_ui tag:best and metrics.acc > 0.9", "False"]
