"""One bad record never hides the others: unsafe values at capture, unreadable spool records."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.faults.training_repo import PY, assert_intact, good_run
from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

WRITES_NON_UTF8_NAMES = """\
import json, os
os.makedirs(b"out", exist_ok=True)
with open(b"out/\\xff.bin", "wb") as f:
    f.write(b"weights")
with open(b"\\xfe-log.txt", "wb") as f:
    f.write(b"log")
with open("metrics.json", "w") as f:
    json.dump({"acc": 0.7}, f)
"""


def _every_reader_works(repo: TmpRepo, *, set_aside: int = 0) -> None:
    """`list`, `show` and `doctor --fix` answer; doctor flags set-aside records until deleted."""
    for args in (["list"], ["list", "--all", "--json"], ["show", "latest"], ["doctor", "--fix"]):
        proc = ledger(*args, cwd=repo.root, check=False)
        assert proc.returncode == (1 if set_aside and args[0] == "doctor" else 0), (args, proc.stderr)
        assert "unexpected error" not in proc.stderr


def test_recursive_yaml_alias_is_a_capture_problem(project: TmpRepo) -> None:
    before = good_run(project, 0.61)
    project.gen({"params.yaml": "a: &a [*a]\n"})  # ten bytes that refer to themselves

    proc = ledger_process("run", "--", PY, "train.py", "0.62", cwd=project.root)

    assert "a value contains itself" in proc.stderr
    bad = runs_json(cwd=project.root)[0]["id"]
    run = show_json(bad, cwd=project.root)["run"]
    assert run["summary"]["status"] == "finished"
    assert run["params"] == []
    assert {m["key"]: m["value"] for m in run["metrics"]} == {"acc": 0.62}
    assert any("params.yaml: a value contains itself" in e for e in run["capture_errors"])
    project.gen({"params.yaml": "lr: 0.1\n"})
    _the_runs_around_it_are_intact(project, before)


def test_files_with_non_utf8_names_are_recorded_escaped(project: TmpRepo) -> None:
    project.gen({"bad_names.py": WRITES_NON_UTF8_NAMES})
    project.commit("a script that writes odd file names")
    before = good_run(project, 0.61)

    proc = ledger_process("run", "--", PY, "bad_names.py", cwd=project.root)

    assert proc.returncode == 0
    assert (project.root / os.fsdecode(b"out/\xff.bin")).exists()
    run = show_json("latest", cwd=project.root)["run"]
    paths = {o["path"] for o in run["outputs"]}
    assert {"out/\\xff.bin", "\\xfe-log.txt"} <= paths
    assert any("not UTF-8" in e for e in run["capture_errors"])
    _the_runs_around_it_are_intact(project, before)


def _the_runs_around_it_are_intact(repo: TmpRepo, before: str) -> None:
    """A good run after the bad one, every reader working, both good runs whole."""
    after = good_run(repo, 0.63)
    _every_reader_works(repo)
    assert_intact(repo, before, 0.61)
    assert_intact(repo, after, 0.63)
    # Three `ledger run`s (doctor --fix also records the project's first commit, made
    # before `ledger init`, from history).
    assert len([r for r in runs_json(cwd=repo.root) if r["source"] == "run"]) == 3


def _ledger_url(repo: TmpRepo) -> str:
    return "sqlite:///" + ledger("where", cwd=repo.root).stdout.strip()


def _spool(repo: TmpRepo) -> Path:
    return Path(ledger("where", cwd=repo.root).stdout.strip()).parent / "spool"


def _old_version_record(repo: TmpRepo) -> str:
    """A run's spool folder as an earlier exp-ledger left it: an output named in raw bytes."""
    from ledger.core.ids import new_run_id
    from ledger.core.records import NewRun, OutputFile, RunEnd
    from ledger.delivery import handover, spool

    run_id = new_run_id()
    folder = spool.run_dir(_spool(repo), run_id)
    record = NewRun(
        id=run_id, source="run", started_at=time.time(), argv=["python", "x.py"], repo=str(repo.root)
    )
    end = RunEnd(
        status="finished",
        ended_at=time.time(),
        exit_code=0,
        outputs=[OutputFile(path=os.fsdecode(b"\xff.bin"), algorithm="md5", value=None, size=1)],
    )
    handover.write_start(folder, _ledger_url(repo), record)
    handover.write_end(folder, end, {})
    return run_id


def _torn_record(repo: TmpRepo) -> str:
    """A run's spool folder whose end file holds garbage (a disk that lost a block)."""
    from ledger.core.ids import new_run_id
    from ledger.core.records import NewRun
    from ledger.delivery import handover, spool

    run_id = new_run_id()
    folder = spool.run_dir(_spool(repo), run_id)
    record = NewRun(
        id=run_id, source="run", started_at=time.time(), argv=["python", "y.py"], repo=str(repo.root)
    )
    handover.write_start(folder, _ledger_url(repo), record)
    (folder / handover.END).write_bytes(os.urandom(64))
    return run_id


@pytest.mark.parametrize("make_bad", [_old_version_record, _torn_record], ids=["non-utf8", "garbage"])
def test_a_spool_record_that_cannot_be_written_is_set_aside(
    project: TmpRepo, make_bad: Callable[[TmpRepo], str]
) -> None:
    before = good_run(project, 0.61)
    bad = make_bad(project)
    after = good_run(project, 0.63)  # its reader meets the bad record first

    _every_reader_works(project, set_aside=1)

    assert_intact(project, before, 0.61)
    assert_intact(project, after, 0.63)
    aside = _spool(project).parent / "quarantine" / bad
    assert (aside / "start.pickle").is_file()  # kept whole, to look into
    assert (aside / "reason.txt").read_text().strip()
    assert not (_spool(project) / bad).exists()
    doctor = ledger("doctor", cwd=project.root, check=False)
    assert doctor.returncode == 1
    assert "1 run record(s) could not be written and were set aside" in doctor.stdout
    assert str(aside) in doctor.stdout
