"""`ledger(...)` runs the CLI in the test's process: it must answer as `python -m ledger` does,
and leave the test's process as it found it."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger, ledger_process

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

ASKED = [
    ["--version"],
    ["--help"],
    ["list", "--help"],
    ["run", "--help"],
    ["list", "-n", "many"],  # a usage error: exit 2 from argparse
    ["frobnicate"],
    ["where"],
    ["list"],
    ["list", "--all", "--json"],
    ["show", "nothing-by-that-name"],
    ["tag", "latest", "x"],
    ["list", "metrics.acc >"],
    ["db", "upgrade"],
]


@pytest.mark.parametrize("args", ASKED, ids=" ".join)
def test_in_process_answers_as_the_program_does(tmp_repo: TmpRepo, args: list[str]) -> None:
    tmp_repo.commit("first")
    program = ledger_process(*args, check=False)
    inside = ledger(*args, check=False)

    assert (inside.returncode, inside.stdout, inside.stderr) == (
        program.returncode,
        program.stdout,
        program.stderr,
    )


def test_in_process_takes_the_folder_and_environment_asked_for(tmp_repo: TmpRepo, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    url = f"sqlite:///{tmp_path / 'team.db'}"

    assert ledger("where", env={"LEDGER_URL": url}).stdout == f"{tmp_path / 'team.db'}\n"
    outside = ledger("list", cwd=elsewhere, check=False)
    assert outside.returncode == 1
    assert outside.stderr.startswith("ledger: error: not inside a git repository")


def test_in_process_leaves_the_process_as_it_found_it(tmp_repo: TmpRepo, tmp_path: Path) -> None:
    def state() -> tuple[object, ...]:
        return (
            Path.cwd(),
            dict(os.environ),
            {s: signal.getsignal(s) for s in signal.valid_signals()},
            logging.getLogger().handlers[:],
            logging.getLogger().level,
            sys.stdout,
            sys.stderr,
            sys.stdin,
            sys.argv,
            gc.get_freeze_count(),  # nothing of the test's left out of the collector's sight
        )

    before = state()
    ledger("where", cwd=tmp_path, env={"LEDGER_URL": "sqlite:///elsewhere.db", "LEDGER_NEW": "1"})
    ledger("--help")
    ledger("show", "nothing", check=False)

    assert state() == before


def test_what_needs_a_process_is_refused_in_process(tmp_repo: TmpRepo) -> None:
    with pytest.raises(AssertionError, match="use ledger_process"):
        ledger("run", "--", sys.executable, "-c", "pass")
