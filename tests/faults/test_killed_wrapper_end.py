"""kill -9 of the `ledger run` wrapper: the run still gets the end the wrapper would have
given it (the scalars its log printed, the metrics files and framework logs it wrote,
its outputs), as of when it died, and its seeds read as unknown, never as "none"."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import alive, ledger, ledger_process, runs_json, runs_once_listed, show_json, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PY = sys.executable


@pytest.fixture(autouse=True)
def _ledger_at_head(tmp_repo: TmpRepo, migrated_ledger: Callable[[Path], Path]) -> None:
    """The repository's ledger, at the schema head before the wrapper starts: its first
    open is not what these tests are about."""
    migrated_ledger(tmp_repo.root / ".git" / "ledger" / "ledger.db")


TRAIN = """
import os, pathlib, time
pathlib.Path("child.pid").write_text(str(os.getpid()))
os.makedirs("lightning_logs/version_0", exist_ok=True)
os.makedirs("checkpoints", exist_ok=True)
table = open("lightning_logs/version_0/metrics.csv", "w", buffering=1)
table.write("epoch,step,val_acc\\n")
for step in range(100000):
    print(f"step: {step} loss: {1 / (step + 1):.4f}", flush=True)
    table.write(f"0,{step},{step / 1000}\\n")
    if step == 5:
        pathlib.Path("checkpoints/a.pt").write_bytes(b"weights")
        pathlib.Path("ready").touch()
    if pathlib.Path("stop").exists():
        break
    time.sleep(0.02)
"""

IGNORED = "child.pid\nready\nstop\nlightning_logs/\ncheckpoints/\nmetrics.json\noutputs/\n"


def _start(repo: TmpRepo, script: str = TRAIN, *extra: str) -> subprocess.Popen[bytes]:
    repo.gen({"train.py": script, ".gitignore": IGNORED})
    repo.commit("train")
    wrapper = subprocess.Popen(
        [PY, "-m", "ledger", "run", *extra, "--", PY, "train.py"],
        cwd=repo.root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # as a terminal would: the wrapper only is killed below
    )
    wait_until((repo.root / "ready").exists, "the run's start")
    return wrapper


def _kill(wrapper: subprocess.Popen[bytes], repo: TmpRepo) -> None:
    """kill -9 the wrapper and wait for its command to die of it (SIGTERM)."""
    child = int((repo.root / "child.pid").read_text())
    os.kill(wrapper.pid, signal.SIGKILL)
    assert wrapper.wait(timeout=30) == -signal.SIGKILL
    wait_until(lambda: not alive(child), "the command's end")


def _kill_recorder(repo: TmpRepo) -> None:
    """kill -9 the run's detached recorder too: only a reader is left to end the run."""
    (folder,) = (repo.root / ".git" / "ledger" / "spool").iterdir()
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ledger.delivery.recorder" in argv and str(folder).encode() in argv:
            os.kill(int(proc.name), signal.SIGKILL)
            return
    raise AssertionError("the run's recorder was not found")


def _crashed(repo: TmpRepo) -> dict[str, Any]:
    wait_until(lambda: [r["status"] for r in runs_json(cwd=repo.root)] == ["crashed"], "the run's crash")
    run_id = runs_json(cwd=repo.root)[0]["id"]
    return show_json(run_id, cwd=repo.root)


def _printed_steps(repo: TmpRepo, run_id: str) -> list[int]:
    log = ledger("log", run_id, cwd=repo.root).stdout
    return [int(line.split()[1]) for line in log.splitlines() if line.startswith("step: ")]


def test_the_printed_loss_and_the_written_files_survive_a_killed_wrapper(tmp_repo: TmpRepo) -> None:
    _kill(_start(tmp_repo), tmp_repo)

    shown = _crashed(tmp_repo)

    run = shown["run"]
    printed = _printed_steps(tmp_repo, run["summary"]["id"])
    assert shown["series"]["loss"]["steps"] == printed
    assert {m["key"]: m["source"] for m in run["metrics"]}[
        "val_acc"
    ] == "lightning_logs/version_0/metrics.csv"
    assert shown["series"]["val_acc"]["steps"][:6] == [0, 1, 2, 3, 4, 5]
    assert "checkpoints/a.pt" in {o["path"] for o in run["outputs"]}


def test_a_killed_runs_seeds_read_as_unknown_not_none(tmp_repo: TmpRepo) -> None:
    _kill(_start(tmp_repo), tmp_repo)
    run_id = _crashed(tmp_repo)["run"]["summary"]["id"]

    shown = ledger("show", run_id, cwd=tmp_repo.root).stdout

    seeds = next(line for line in shown.splitlines() if line.split()[:1] == ["seeds"])
    assert "unknown" in seeds
    assert "set none" not in seeds


def test_a_command_that_outlives_its_wrapper_is_captured_only_once_it_ends(tmp_repo: TmpRepo) -> None:
    # It prints nothing: with its wrapper gone, a print would kill it (a broken pipe).
    script = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + TRAIN.replace(
        "    print(", "    str("
    ).replace(", flush=True)", ")")
    wrapper = _start(tmp_repo, script)
    child = int((tmp_repo.root / "child.pid").read_text())
    os.kill(wrapper.pid, signal.SIGKILL)
    wrapper.wait(timeout=30)
    time.sleep(1.0)

    (running,) = runs_once_listed(tmp_repo.root)
    assert running["status"] == "running"
    assert show_json(running["id"], cwd=tmp_repo.root)["run"]["outputs"] == []
    (tmp_repo.root / "stop").touch()
    wait_until(lambda: not alive(child), "the command's end")

    shown = _crashed(tmp_repo)
    rows = (tmp_repo.root / "lightning_logs/version_0/metrics.csv").read_text().splitlines()
    assert len(shown["series"]["val_acc"]["steps"]) == len(rows) - 1 > 6, (
        "every row, those after the kill too"
    )
    assert "checkpoints/a.pt" in {o["path"] for o in shown["run"]["outputs"]}


def test_a_dead_run_two_readers_find_at_once_is_captured_once(tmp_repo: TmpRepo) -> None:
    wrapper = _start(tmp_repo)
    _kill_recorder(tmp_repo)
    _kill(wrapper, tmp_repo)

    readers = [
        subprocess.Popen([PY, "-m", "ledger", "list"], cwd=tmp_repo.root, stdout=subprocess.DEVNULL)
        for _ in range(2)
    ]
    assert [r.wait(timeout=120) for r in readers] == [0, 0]

    shown = _crashed(tmp_repo)
    run_id = shown["run"]["summary"]["id"]
    with sqlite3.connect(tmp_repo.root / ".git" / "ledger" / "ledger.db") as db:
        stored = dict(
            db.execute(
                "SELECT s.key, SUM(c.count) FROM series s JOIN metric_chunks c ON c.series_id = s.id "
                "WHERE s.run_id = ? GROUP BY s.key",
                (run_id,),
            ).fetchall()
        )
    assert stored["loss"] == len(shown["series"]["loss"]["steps"]) > 0
    assert stored["val_acc"] == len(shown["series"]["val_acc"]["steps"]) > 0


def test_files_a_later_run_wrote_are_not_the_dead_runs(tmp_repo: TmpRepo) -> None:
    wrapper = _start(tmp_repo)
    _kill_recorder(tmp_repo)
    _kill(wrapper, tmp_repo)
    (tmp_repo.root / "ready").unlink()
    later = "import os, pathlib\npathlib.Path('checkpoints/b.pt').write_bytes(b'other')\n"
    later += (
        "pathlib.Path('lightning_logs/version_0/metrics.csv').write_text('epoch,step,val_acc\\n0,0,9.0\\n')\n"
    )
    tmp_repo.gen({"later.py": later})
    tmp_repo.commit("later")
    ledger_process("run", "--", PY, "later.py", cwd=tmp_repo.root)

    runs = runs_json(cwd=tmp_repo.root)
    (dead,) = [r for r in runs if r["status"] == "crashed"]
    shown = show_json(dead["id"], cwd=tmp_repo.root)

    assert shown["series"]["loss"]["steps"] == _printed_steps(tmp_repo, dead["id"])
    outputs = {o["path"] for o in shown["run"]["outputs"]}
    assert "checkpoints/a.pt" in outputs
    assert "checkpoints/b.pt" not in outputs
    assert "val_acc" not in {m["key"] for m in shown["run"]["metrics"]}


def test_a_corrupt_metrics_file_of_a_killed_run_is_a_capture_problem(tmp_repo: TmpRepo) -> None:
    script = TRAIN.replace(
        "time.sleep(0.02)", "pathlib.Path('metrics.json').write_text('{\"acc\": ')\n    time.sleep(0.02)"
    )
    _kill(_start(tmp_repo, script), tmp_repo)

    shown = _crashed(tmp_repo)

    assert any(line.startswith("metrics.json") for line in shown["run"]["capture_errors"])
    assert shown["series"]["loss"]["steps"] == _printed_steps(tmp_repo, shown["run"]["summary"]["id"])


def test_a_killed_runs_torn_start_record_is_a_capture_problem(tmp_repo: TmpRepo) -> None:
    """What the wrapper kept at the start cannot be read: the run still ends as crashed,
    with what its spool holds and the reason its files were not read."""
    wrapper = _start(tmp_repo)
    _kill_recorder(tmp_repo)
    (folder,) = (tmp_repo.root / ".git" / "ledger" / "spool").iterdir()
    (folder / "before.pickle").write_bytes(b"\x80\x05torn")
    _kill(wrapper, tmp_repo)

    shown = _crashed(tmp_repo)

    assert any("could not be read" in line for line in shown["run"]["capture_errors"])
    assert shown["run"]["outputs"] == []
    assert _printed_steps(tmp_repo, shown["run"]["summary"]["id"])


def test_a_killed_runs_hydra_config_params_are_recorded(tmp_repo: TmpRepo) -> None:
    hydra = (
        "os.makedirs('outputs/12-00-00/.hydra', exist_ok=True)\n"
        "pathlib.Path('outputs/12-00-00/.hydra/config.yaml').write_text('optimizer:\\n  lr: 0.25\\n')\n"
    )
    script = TRAIN.replace(
        'os.makedirs("checkpoints", exist_ok=True)\n', 'os.makedirs("checkpoints", exist_ok=True)\n' + hydra
    )
    _kill(_start(tmp_repo, script), tmp_repo)

    run = _crashed(tmp_repo)["run"]

    assert {p["key"]: p["value"] for p in run["params"]}.get("optimizer.lr") == 0.25
    assert "outputs/12-00-00" in run["run_folders"]
