"""A damaged ledger file: every command names the fix; `doctor --fix` keeps it and rebuilds."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.faults.training_repo import PY, assert_intact, good_run
from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration


def _garbage(db: Path) -> None:
    db.write_bytes(os.urandom(db.stat().st_size))


def _truncated(db: Path) -> None:
    _checkpoint(db)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])


def _pages_overwritten(db: Path) -> None:
    """The header and schema survive; the pages that hold the runs do not."""
    _checkpoint(db)
    data = bytearray(db.read_bytes())
    data[8192:] = b"\xa5" * (len(data) - 8192)
    db.write_bytes(bytes(data))


def _checkpoint(db: Path) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


DAMAGE = [_garbage, _truncated, _pages_overwritten]
DAMAGE_IDS = ["garbage", "truncated", "pages-overwritten"]


def _db(repo: TmpRepo) -> Path:
    return Path(ledger("where", cwd=repo.root).stdout.strip())


def _one_clear_line(stderr: str) -> None:
    assert "ledger doctor --fix" in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr
    assert "unexpected error" not in stderr


@pytest.mark.parametrize("damage", DAMAGE, ids=DAMAGE_IDS)
def test_every_command_names_the_fix(project: TmpRepo, damage: Callable[[Path], None]) -> None:
    run_id = good_run(project, 0.61)
    db = _db(project)
    damage(db)
    damaged = db.read_bytes()

    for args in (["list"], ["list", "--json"], ["show", run_id], ["log", run_id], ["tag", run_id, "x"]):
        proc = ledger(*args, cwd=project.root, check=False)
        assert proc.returncode == 1, (args, proc.stderr)
        _one_clear_line(proc.stderr)
    doctor = ledger("doctor", cwd=project.root, check=False)
    assert doctor.returncode == 1
    assert "is damaged" in doctor.stdout
    assert "run `ledger doctor --fix`" in doctor.stdout
    assert db.read_bytes() == damaged  # without --fix, nothing is touched


@pytest.mark.parametrize("damage", DAMAGE, ids=DAMAGE_IDS)
def test_doctor_fix_keeps_the_file_and_rebuilds_what_it_can(
    project: TmpRepo, damage: Callable[[Path], None]
) -> None:
    early = good_run(project, 0.61)
    ledger("tag", early, "baseline", cwd=project.root)
    project.gen({"params.yaml": "lr: 0.2\n"})
    commit_a = project.commit("lr 0.2")  # the post-commit hook records the commit's run
    commit_run = next(r["id"] for r in runs_json(cwd=project.root) if r["commit"] == commit_a)
    db = _db(project)
    damage(db)
    damaged = db.read_bytes()
    # While the file is damaged the training still runs and commits still go through.
    during = ledger_process("run", "--", PY, "train.py", "0.64", cwd=project.root)
    assert "run " in during.stderr
    spooled = [p for p in (db.parent / "spool").iterdir() if (p / "end.pickle").is_file()]
    assert len(spooled) == 1
    assert ledger("list", cwd=project.root, check=False).returncode == 1
    assert spooled[0].is_dir()  # a damaged ledger is no fault of the record: it waits
    assert not (db.parent / "quarantine").exists()
    project.gen({"params.yaml": "lr: 0.3\n"})
    commit_b = project.commit("lr 0.3")

    fix = ledger("doctor", "--fix", cwd=project.root, check=False)

    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert "unexpected error" not in fix.stderr
    moved = [
        p for p in db.parent.iterdir() if p.name.startswith("ledger.db.damaged-") and "-wal" not in p.name
    ]
    assert len(moved) == 1
    assert moved[0].read_bytes() == damaged
    assert str(moved[0]) in fix.stdout
    assert "could not rebuild: tags, notes" in fix.stdout
    runs = {r["id"]: r for r in runs_json(cwd=project.root)}
    # The run recorded before the damage: same ID, code and params from its snapshot.
    rebuilt = show_json(early, cwd=project.root)["run"]
    assert {p["key"]: p["value"] for p in rebuilt["params"]} == {"lr": 0.1}
    assert rebuilt["summary"]["status"] == "finished"
    assert rebuilt["summary"]["tags"] == []
    assert any("rebuilt from its code snapshot" in e for e in rebuilt["capture_errors"])
    # The commit's run, from its ref, under its own ID; the commit made meanwhile, from the inbox.
    assert runs[commit_run]["commit"] == commit_a
    commit_runs = [r["commit"] for r in runs.values() if r["source"] in ("commit", "backfill")]
    assert commit_runs.count(commit_a) == 1
    assert commit_runs.count(commit_b) == 1
    # History gives back every commit with results, the one before `ledger init` too.
    assert project.git("rev-list", "--max-parents=0", "HEAD") in commit_runs
    assert len(commit_runs) == 3
    # The run made while the file was damaged waited in the spool: it comes back whole.
    during_id = next(r for r in runs if r != early and runs[r]["source"] == "run")
    assert_intact(project, during_id, 0.64, lr=0.2)
    assert len(runs) == 5
    # Afterwards the ledger works as before.
    after = good_run(project, 0.65)
    assert_intact(project, after, 0.65, lr=0.3)
    assert ledger("doctor", cwd=project.root, check=False).returncode == 0
