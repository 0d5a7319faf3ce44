"""`ledger list`, `show` and `diff` on a real sweep: the varied param gets a column, IDs
tell runs apart, small numbers keep their exponent."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json
from tests.projects import building

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

GRAD_NORMS = [4.74103e-05, 0.000134567, 2.5e-07, 0.81, 1.23456789e300, -3.5e-12]
SWEEP = f"""\
import ledger

grad_norms = {GRAD_NORMS!r}
for i, lr in enumerate([1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3]):
    params = {{
        "augment": i % 2 == 0,
        "batch_size": 64 if i == 5 else 32,
        "dropout": 0.2 if i == 0 else 0.1,
        "epochs": 20 if i == 3 else 10,
        "lr": lr,
        "seed": 42,
    }}
    with ledger.start_run(name=f"trial-{{i}}", params=params):
        ledger.log_metrics({{"acc": 0.5 + i / 100, "grad_norm": grad_norms[i], "loss": 1 - i / 10}})
"""


@pytest.fixture(scope="session")
def _swept_template(tmp_path_factory: pytest.TempPathFactory) -> TmpRepo:
    """The sweep is the same for every test, which only reads it: it runs once."""
    with building(tmp_path_factory, "swept-template") as repo:
        repo.gen({"sweep.py": SWEEP})
        repo.commit("sweep")
        subprocess.run([sys.executable, "sweep.py"], check=True, cwd=repo.root)
    return repo


@pytest.fixture
def swept(_swept_template: TmpRepo, own_copy: Callable[[TmpRepo], TmpRepo]) -> TmpRepo:
    """A repository whose script ran a six-trial learning-rate sweep in one process."""
    return own_copy(_swept_template)


def table(repo: TmpRepo, *args: str) -> tuple[list[str], list[list[str]]]:
    """`ledger list`'s header and rows, split on the column gaps (a cell holds single spaces)."""
    header, *rows = ledger("list", *args, cwd=repo.root).stdout.splitlines()
    return re.split(r"\s{2,}", header), [re.split(r"\s{2,}", row) for row in rows]


def test_list_shows_the_param_the_sweep_varies_and_not_the_constant_one(swept: TmpRepo) -> None:
    header, _ = table(swept)

    params = [h for h in header if h.startswith("params.")]
    assert "params.lr" in params
    assert len(params) == 4
    assert "params.seed" not in header


def test_list_ids_are_whole_unique_prefixes_that_show_accepts(swept: TmpRepo) -> None:
    runs = runs_json(cwd=swept.root)
    _, rows = table(swept)

    shown = [row[0] for row in rows]
    assert len(shown) == len(runs) == 6
    assert len(set(shown)) == 6
    for text, run in zip(shown, runs, strict=True):
        assert "…" not in text
        assert len(text) >= 7
        assert run["id"].startswith(text)
    assert show_json(shown[0], cwd=swept.root)["run"]["summary"]["id"] == runs[0]["id"]


def test_list_prints_numbers_that_fit_unaltered(swept: TmpRepo) -> None:
    header, rows = table(swept, "--metrics", "grad_norm")

    column = header.index("metrics.grad_norm")
    assert [row[column] for row in rows][::-1] == [
        "4.74103e-05", "0.000134567", "2.5e-07", "0.81", "1.23457e+300", "-3.5e-12"
    ]  # fmt: skip


def test_show_and_diff_keep_the_exponent(swept: TmpRepo) -> None:
    first, second = (run["id"] for run in runs_json(cwd=swept.root)[::-1][:2])

    shown = ledger("show", first, cwd=swept.root).stdout
    diff = ledger("diff", first, second, cwd=swept.root).stdout

    assert any(line.split()[:2] == ["grad_norm", "4.74103e-05"] for line in shown.splitlines())
    line = next(line for line in diff.splitlines() if "grad_norm" in line)
    assert line.split() == ["*", "grad_norm", "4.74103e-05", "->", "0.000134567", "(+8.71567e-05)"]
    lr = next(line for line in diff.splitlines() if " lr " in line)
    assert lr.split() == ["*", "lr", "1e-05", "->", "3e-05"]


def test_show_and_diff_print_a_whole_float_param_as_a_float(tmp_repo: TmpRepo) -> None:
    """`dropout 0` read as the int it is not; and `diff` of 0 against 0.0 showed `0 -> 0`."""
    tmp_repo.gen({"train.py": "print('acc: 0.5')\n"})
    tmp_repo.commit("script")
    ledger_process("run", "--", sys.executable, "train.py", "--dropout=0.0", "--epochs=2", "--noise=6.0")
    ledger_process("run", "--", sys.executable, "train.py", "--dropout=0", "--epochs=2", "--noise=6.0")
    whole_ints, floats = (run["id"] for run in runs_json())

    shown = ledger("show", floats).stdout.splitlines()
    assert ["dropout", "0.0", "[argv]"] in [line.split() for line in shown]
    assert ["noise", "6.0", "[argv]"] in [line.split() for line in shown]
    assert ["epochs", "2", "[argv]"] in [line.split() for line in shown]
    assert show_json(floats)["run"]["params"][0]["value"] == 0.0
    diff = [line.split() for line in ledger("diff", floats, whole_ints).stdout.splitlines()]
    assert ["*", "dropout", "0.0", "->", "0"] in diff
