"""Ledger trouble never kills nor freezes training: each fault made for real.

A corrupt, read-only, write-locked or newer-schema ledger file, a key PostgreSQL
refuses, a server that stops answering mid-run: the script trains to its end with
one warning line, and every point it logged waits in the spool until the fault is
gone and `ledger doctor --fix` (or any command that reads the ledger) delivers it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import make_url

from ledger.core.limits import KEY, fit
from tests.faults.silent_proxy import SilentProxy
from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PY = sys.executable
STEPS = 400

TRAIN = f"""
import pathlib, time
import ledger

ledger.log_params({{"lr": 0.1}})
for step in range({STEPS}):
    ledger.log_metrics({{"loss": step * 0.5, "acc": step / {STEPS}}}, step=step)
    if step == {STEPS // 2}:
        ledger.current_run().flush()  # the ledger is asked mid-run, while training goes on
print("trained", flush=True)
pathlib.Path("trained").touch()
"""

WAIT_FOR_GO = f"""
import pathlib, time
import ledger

ledger.log_params({{"lr": 0.1}})
for step in range({STEPS // 2}):
    ledger.log_metrics({{"loss": step * 0.5, "acc": step / {STEPS}}}, step=step)
ledger.current_run().flush()
pathlib.Path("ready").touch()
while not pathlib.Path("go").exists():
    time.sleep(0.02)
for step in range({STEPS // 2}, {STEPS}):
    ledger.log_metrics({{"loss": step * 0.5, "acc": step / {STEPS}}}, step=step)
    time.sleep(0.002)  # long enough for the background writer to try the silent server
print("trained", flush=True)
"""


def _train(
    repo: TmpRepo, *, wrapped: bool, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [PY, "-m", "ledger", "run", "--", PY, "train.py"] if wrapped else [PY, "train.py"]
    return subprocess.run(
        argv,
        cwd=repo.root,
        capture_output=True,
        text=True,
        env={**os.environ, "LEDGER_FLUSH_INTERVAL": "0.05", **(env or {})},
        timeout=300,
        check=False,
    )


def _survived(proc: subprocess.CompletedProcess[str]) -> str:
    """The script trained to its end; returns the one warning it printed."""
    assert proc.returncode == 0, proc.stderr
    assert "trained" in proc.stdout
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1, proc.stderr
    return warnings[0]


def _delivered(repo: TmpRepo, *, recorder_may_have: bool = False) -> None:
    """`ledger doctor --fix` records the run whole: status, params, every point.

    `recorder_may_have`: a `ledger run` recorder that waited out the fault may have
    recorded the run itself by then.
    """
    fixed = ledger("doctor", "--fix", cwd=repo.root, check=False)
    if not recorder_may_have:
        assert "spool: 1 run(s) recorded, 0 still running" in fixed.stdout, fixed.stdout + fixed.stderr
    (run,) = [r for r in runs_json(cwd=repo.root) if r["source"] in ("api", "run")]
    assert run["status"] == "finished"
    assert run["params"]["lr"] == 0.1
    series = show_json(run["id"], cwd=repo.root)["series"]
    assert series["loss"]["steps"] == list(range(STEPS))
    assert series["loss"]["values"] == [s * 0.5 for s in range(STEPS)]
    assert series["acc"]["steps"] == list(range(STEPS))
    assert not any(spool_dir(repo).iterdir()), "the spool is emptied once delivered"


def spool_dir(repo: TmpRepo) -> Path:
    return repo.root / ".git" / "ledger" / "spool"


def db_path(repo: TmpRepo) -> Path:
    return repo.root / ".git" / "ledger" / "ledger.db"


@pytest.fixture
def repo(tmp_repo: TmpRepo, migrated_ledger: Callable[[Path], Path]) -> TmpRepo:
    """A repository whose ledger exists and holds one run (the fault is then made on it)."""
    migrated_ledger(db_path(tmp_repo))  # the ledger's first open is not what these tests are about
    tmp_repo.gen({"train.py": TRAIN, ".gitignore": "trained\nready\ngo\n"})
    tmp_repo.commit("train")
    ledger_process("run", "--name", "before", "--", PY, "-c", "pass", cwd=tmp_repo.root)
    assert [r["name"] for r in runs_json(cwd=tmp_repo.root)] == ["before"]
    return tmp_repo


def _only_new(repo: TmpRepo) -> None:
    """Leave the run made by the fixture out of the checks."""
    ledger("list", cwd=repo.root)  # settles it for good before the fault
    with sqlite3.connect(db_path(repo)) as conn:
        conn.execute("DELETE FROM runs WHERE name = 'before'")


@pytest.mark.parametrize("wrapped", [False, True], ids=["script", "ledger-run"])
def test_a_corrupt_ledger_file(repo: TmpRepo, wrapped: bool) -> None:
    _only_new(repo)
    good = db_path(repo).with_name("good.db")
    with sqlite3.connect(db_path(repo)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(db_path(repo), good)
    db_path(repo).write_bytes(b"this is not a database, it was overwritten" * 200)

    warning = _survived(_train(repo, wrapped=wrapped))

    assert "not a database" in warning
    shutil.copy(good, db_path(repo))  # the file is repaired (`doctor --fix` of another fix, or by hand)
    _delivered(repo)


@pytest.mark.parametrize("wrapped", [False, True], ids=["script", "ledger-run"])
def test_a_read_only_ledger_file(repo: TmpRepo, wrapped: bool) -> None:
    _only_new(repo)
    with _read_only(db_path(repo)):
        warning = _survived(_train(repo, wrapped=wrapped))

    assert "readonly" in warning or "read-only" in warning
    _delivered(repo)


def test_a_newer_schema(repo: TmpRepo) -> None:
    _only_new(repo)
    with sqlite3.connect(db_path(repo)) as conn:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeedf00d'")

    warning = _survived(_train(repo, wrapped=False))

    assert "unknown to this exp-ledger" in warning
    with sqlite3.connect(db_path(repo)) as conn:  # exp-ledger is upgraded
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    _delivered(repo)


@pytest.mark.parametrize("wrapped", [False, True], ids=["script", "ledger-run"])
def test_a_write_lock_held_by_another_process(repo: TmpRepo, wrapped: bool) -> None:
    _only_new(repo)
    release = repo.root / ".git" / "release-lock"
    with _write_locked(db_path(repo), release, hold=40.0) as still_held:
        # The mid-run flush meets the lock: it gives up after `flush_wait`, whatever its length.
        proc = _train(repo, wrapped=wrapped, env={"LEDGER_FLUSH_WAIT": "1"})
        held_through_training = still_held()
        release.touch()

    assert held_through_training, "the lock must outlast the training for this test to mean anything"
    _survived(proc)
    _delivered(repo, recorder_may_have=wrapped)


@pytest.mark.postgres
def test_a_metric_key_longer_than_postgresql_takes(tmp_repo: TmpRepo, pg_migrated_url: str) -> None:
    long_key = "k" * 300
    tmp_repo.gen({"train.py": TRAIN.replace('"acc"', repr(long_key))})
    tmp_repo.commit("train")

    proc = _train(tmp_repo, wrapped=False, env={"LEDGER_URL": pg_migrated_url})

    # The key is fitted to the one limit both backends share (`ledger.core.limits`): no
    # refusal, nothing to warn about, every point recorded under the fitted key.
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "warning" not in proc.stderr
    (run,) = _runs_at(tmp_repo, pg_migrated_url)
    series = _show_at(tmp_repo, pg_migrated_url, run["id"])["series"]
    assert sorted(series) == sorted(["loss", fit(long_key, KEY)])
    assert series[fit(long_key, KEY)]["steps"] == list(range(STEPS))


@pytest.mark.postgres
@pytest.mark.parametrize("wrapped", [False, True], ids=["script", "ledger-run"])
def test_a_server_that_stops_answering_mid_run(
    tmp_repo: TmpRepo, pg_migrated_url: str, wrapped: bool
) -> None:
    """Under `ledger run` too: the wrapper returns the command's exit code, its end kept
    in the spool, instead of waiting for ever on a server that stopped answering."""
    tmp_repo.gen({"train.py": WAIT_FOR_GO, ".gitignore": "ready\ngo\n"})
    tmp_repo.commit("train")
    parsed = make_url(pg_migrated_url)
    proxy = SilentProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    via_proxy = parsed.set(port=proxy.port).render_as_string(hide_password=False)
    argv = [PY, "-m", "ledger", "run", "--", PY, "train.py"] if wrapped else [PY, "train.py"]
    # Both waits for the end meet a server that never answers: they give up after the
    # setting's seconds, whatever its length.
    waits = {"LEDGER_END_WAIT": "1", "LEDGER_DELIVERY_WAIT": "1"}
    env = {**os.environ, "LEDGER_URL": via_proxy, "LEDGER_FLUSH_INTERVAL": "0.05", **waits}
    proc = subprocess.Popen(
        argv, cwd=tmp_repo.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(tmp_repo.root / "ready", proc)
        proxy.go_silent()
        (tmp_repo.root / "go").touch()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    try:
        done = subprocess.CompletedProcess(argv, proc.returncode, out, err)
        if wrapped:  # one line from the script's process, one from the wrapper's
            ends = [line for line in err.splitlines() if "did not take the run's end" in line]
            assert len(ends) == 1, err
            assert "no answer within 1 s" in ends[0], ends  # the wrapper honoured delivery_wait
            err = err.replace(ends[0], "")
        _survived(subprocess.CompletedProcess(argv, proc.returncode, out, err))
        assert done.returncode == 0
        proxy.speak()
        fixed = ledger("doctor", "--fix", cwd=tmp_repo.root, env={"LEDGER_URL": via_proxy}, check=False)
        assert "spool: 1 run(s) recorded, 0 still running" in fixed.stdout, fixed.stdout + fixed.stderr
        (run,) = _runs_at(tmp_repo, via_proxy)
        assert run["status"] == "finished"
        series = _show_at(tmp_repo, via_proxy, run["id"])["series"]
        assert series["loss"]["steps"] == list(range(STEPS))
        assert series["acc"]["steps"] == list(range(STEPS))
    finally:
        proxy.close()


def _runs_at(repo: TmpRepo, url: str) -> list[dict[str, object]]:
    import json

    return list(json.loads(ledger("list", "--all", "--json", cwd=repo.root, env={"LEDGER_URL": url}).stdout))


def _show_at(repo: TmpRepo, url: str, run_id: object) -> dict[str, dict[str, dict[str, list[float]]]]:
    import json

    shown: dict[str, dict[str, dict[str, list[float]]]] = json.loads(
        ledger("show", str(run_id), "--json", cwd=repo.root, env={"LEDGER_URL": url}).stdout
    )
    return shown


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the script never got ready"
        time.sleep(0.05)


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """Mount the file read-only over itself (root ignores file modes; a mount it cannot)."""
    made = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, check=False)
    if made.returncode:
        pytest.skip(f"cannot bind-mount here: {made.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


LOCKER = """
import pathlib, sqlite3, sys, time
db, release, hold = sys.argv[1], pathlib.Path(sys.argv[2]), float(sys.argv[3])
conn = sqlite3.connect(db, isolation_level=None, timeout=60)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE runs SET note = 'locked' WHERE 0")
print("locked", flush=True)
deadline = time.monotonic() + hold
while not release.exists():
    if time.monotonic() > deadline:
        print("timed out", flush=True)
        break
    time.sleep(0.05)
conn.execute("COMMIT")
"""


@contextlib.contextmanager
def _write_locked(path: Path, release: Path, *, hold: float) -> Iterator[Callable[[], bool]]:
    """Another process holds the ledger's write lock (BEGIN IMMEDIATE) until `release`
    appears or `hold` seconds pass; yields "is it still held?"."""
    locker = subprocess.Popen(
        [PY, "-c", LOCKER, str(path), str(release), str(hold)], stdout=subprocess.PIPE, text=True
    )
    assert locker.stdout is not None
    assert locker.stdout.readline().strip() == "locked"
    try:
        yield lambda: locker.poll() is None
    finally:
        release.touch()
        locker.wait(timeout=120)
        locker.stdout.close()
