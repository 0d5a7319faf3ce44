"""What the runs table draws for a real sweep: numbers keep their exponent, IDs their
distinguishing digits, the varied param its column; the sort picker offers every key."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from textual.widgets import OptionList

from ledger.core.filters import Field
from ledger.read import queries
from ledger.store.engine import connect
from ledger.tui.screens.runs import RunsScreen
from ledger.tui.screens.sort_picker import SortPicker
from ledger.tui.widgets.runs_table import RunsTable
from tests.tui.conftest import until
from tests.tui.snapshot_app import BASE, app_on, record_run, uuid7

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.core.ids import RunId
    from ledger.core.param_values import ParamValue
    from ledger.store.engine import Store
    from ledger.tui.app import LedgerApp

pytestmark = pytest.mark.tui

WIDE = (220, 30)
"""Every column on screen at once."""

START_MS = int(BASE * 1000)
LRS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
GRAD_NORMS = (4.74103e-05, 0.000134567, 0.81, float("nan"), 1.23456789e300, 5e-324, -123456.789, -2.5e-07)


def sweep(store: Store) -> list[RunId]:
    """A learning-rate sweep one process launched within a third of a second, as an Optuna
    or grid loop does: every ID shares its first nine digits, and the last two runs started
    in the same millisecond (their IDs differ only in the counter, after 13 digits)."""
    ids = [uuid7(START_MS + 40 * i, 0x2A0 + i, 0x1234_5678_9ABC + i) for i in range(7)]
    ids.append(uuid7(START_MS + 40 * 6, 0x2A7, 0x0FED_CBA9_8765))
    for i, (rid, lr, grad_norm) in enumerate(zip(ids, LRS, GRAD_NORMS, strict=True)):
        params: dict[str, ParamValue] = {
            "augment": i % 2 == 0,
            "batch_size": 64 if i == 7 else 32,
            "dropout": 0.2 if i == 0 else 0.1,
            "epochs": 20 if i == 3 else 10,
            "lr": lr,
            "seed": 42,
        }
        metrics = {"acc": 0.5 + i / 100, "grad_norm": grad_norm, "loss": 1 - i / 10, "val_ppl": 12.5}
        if i == 5:
            metrics["throughput"] = 2048.0
        record_run(store, rid, started_at=BASE + i * 0.04, name=f"lr-{lr:g}", params=params, metrics=metrics)
    return ids


@pytest.fixture
def sweep_app(ledger_path: Path) -> tuple[LedgerApp, list[RunId]]:
    store = connect(f"sqlite:///{ledger_path}", upgrade=True)
    return app_on(store, ledger_path), sweep(store)


def table(app: LedgerApp) -> RunsTable:
    return app.screen.query_one(RunsTable)


def drawn(app: LedgerApp, key: str) -> dict[str, str]:
    """What each row shows in column `key`, by run ID, cut from the lines the table draws."""
    runs_table = table(app)
    left = 2
    for column in runs_table.columns:
        if column.key == key:
            break
        left += column.width + 1
    else:
        raise AssertionError(f"no {key} column among {[c.key for c in runs_table.columns]}")
    cells = {}
    for index in range(runs_table.total):
        row = runs_table.row(index)
        assert row is not None
        line = "".join(segment.text for segment in runs_table.render_line(index + 1))
        cells[row.key] = line[left : left + column.width].strip()
    return cells


async def test_ids_of_one_sweep_show_in_full_and_apart(sweep_app, wait_for_workers):
    app, ids = sweep_app
    async with app.run_test(size=WIDE) as pilot:
        await wait_for_workers(pilot)
        shown = drawn(app, "id")
        # Unique in the whole ledger, not only on screen: the ID can be pasted into `ledger show`.
        resolved = {text: queries.resolve_run_id(app.ledger.get(), text) for text in shown.values()}

    assert set(shown) == set(ids)
    assert ids[6][:13] == ids[7][:13]
    assert len(set(shown.values())) == len(ids), shown
    for run_id, text in shown.items():
        assert "…" not in text
        assert len(text) >= 7
        assert run_id.startswith(text)
        assert resolved[text] == run_id


async def test_ids_far_apart_keep_seven_digits(app, wait_for_workers):
    async with app.run_test(size=WIDE) as pilot:
        await wait_for_workers(pilot)
        shown = drawn(app, "id")
        width = next(c for c in table(app).columns if c.key == "id").width

    assert len(shown) == 6
    assert {len(text) for text in shown.values()} == {7}
    assert width == 8


async def test_numbers_keep_their_exponent_in_a_narrow_column(sweep_app, wait_for_workers):
    app, ids = sweep_app
    async with app.run_test(size=WIDE) as pilot:
        await wait_for_workers(pilot)
        width = next(c.width for c in table(app).columns if c.key == "metrics:grad_norm")
        shown = drawn(app, "metrics:grad_norm")
        batch = drawn(app, "params:batch_size")

    assert width == len("grad_norm")
    assert [shown[i] for i in ids] == [
        "4.741e-05",
        "0.0001346",
        "0.81",  # fits: as `ledger show` prints it
        "nan",
        "1.23e+300",
        "4.94e-324",
        "-123457",  # fits
        "-2.5e-07",
    ]
    assert {batch[i] for i in ids} == {"32", "64"}


async def test_default_params_are_the_ones_the_sweep_varies(sweep_app, wait_for_workers):
    app, _ = sweep_app
    async with app.run_test(size=WIDE) as pilot:
        await wait_for_workers(pilot)
        keys = [c.key for c in table(app).columns]

    params = [k for k in keys if k.startswith("params:")]
    assert params == ["params:augment", "params:batch_size", "params:dropout", "params:lr"]
    assert "params:seed" not in keys  # the same in every run: never a default column
    assert [k for k in keys if k.startswith("metrics:")] == [
        "metrics:acc",
        "metrics:grad_norm",
        "metrics:loss",
        "metrics:val_ppl",
    ]


async def test_sort_picker_offers_every_param_and_metric(sweep_app, wait_for_workers):
    app, ids = sweep_app
    async with app.run_test(size=WIDE) as pilot:
        await wait_for_workers(pilot)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SortPicker))
        picker = app.screen.query_one("#sort-options", OptionList)
        options = [picker.get_option_at_index(i) for i in range(picker.option_count)]
        offered = {o.id: str(o.prompt) for o in options}

        picker.highlighted = picker.get_option_index("metrics:throughput")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await wait_for_workers(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        sort = screen.sort
        keys = [c.key for c in table(app).columns]
        first = table(app).loaded_keys()[0]

    # Shown columns and hidden keys alike, each by its filter-language name.
    assert offered["params:seed"] == "params.seed"
    assert offered["params:epochs"] == "params.epochs"
    assert offered["metrics:throughput"] == "metrics.throughput"
    assert offered["metrics:acc"] == "metrics.acc"
    assert offered["name"] == "NAME"
    assert list(offered).count("metrics:acc") == 1
    assert sort[0].field == Field("metrics", "throughput")
    assert "metrics:throughput" in keys  # the chosen key shows as a column
    assert first == ids[5]  # the only run that logged it (missing values sort last)
