"""Many runs in one process (an Optuna study, a grid loop): what is read once must stay true.

A sweep pays the capture per trial, so a process keeps its environment, its ledger
connection and its repository between runs; these tests change each of them between
two runs of one real script and check that the next record follows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import runs_json, show_json

if TYPE_CHECKING:
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

PY = sys.executable


def _script(repo: TmpRepo, body: str, *, cwd: Path | None = None) -> None:
    """Run `body` as the user's script (kept outside the work tree, which it would make
    dirty) in the repo, with `ledger` and `run(i)` defined."""
    prelude = (
        "import os, subprocess, sys\n"
        "import ledger\n"
        "def run(i, **params):\n"
        "    with ledger.start_run(name=f'trial-{i}', params={'trial': i, **params}):\n"
        "        ledger.log_metrics({'loss': 1.0 / (i + 1)})\n"
    )
    script = repo.root.parent / "sweep.py"
    script.write_text(prelude + body)
    proc = subprocess.run(
        [PY, str(script)], cwd=cwd or repo.root, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def _by_name(repo: TmpRepo, cwd: Path | None = None) -> dict[str, dict[str, Any]]:
    return {
        r["name"]: show_json(r["id"], cwd=cwd or repo.root)["run"] for r in runs_json(cwd=cwd or repo.root)
    }


def test_a_grid_loop_records_every_trial_whole(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"params.yaml": "lr: 0.1\nbatch: 32\n"})
    tmp_repo.commit()

    _script(tmp_repo, "for i in range(5):\n    run(i, lr=0.01 * (i + 1))\n")

    runs = _by_name(tmp_repo)
    assert sorted(runs) == [f"trial-{i}" for i in range(5)]
    for i in range(5):
        record = runs[f"trial-{i}"]
        params = {p["key"]: (p["value"], p["source"]) for p in record["params"]}
        # start_run's params win over the file's for the same key; the others stay the file's.
        assert params["lr"] == (pytest.approx(0.01 * (i + 1)), "api")
        assert params["batch"] == (32, "params.yaml")
        assert params["trial"] == (i, "api")
        assert record["summary"]["status"] == "finished"
        assert record["summary"]["metrics"] == {"loss": pytest.approx(1.0 / (i + 1))}
        assert record["environment_digest"] == runs["trial-0"]["environment_digest"]
        assert record["snapshot"] == tmp_repo.git("rev-parse", "HEAD")
    spool = tmp_repo.root / ".git" / "ledger" / "spool"
    assert not spool.exists() or not any(spool.iterdir())


def test_a_distribution_installed_between_trials_is_in_the_next_record(
    tmp_repo: TmpRepo, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    os.utime(site, (time.time() - 60, time.time() - 60))  # settled: its listing is reused
    tmp_repo.commit("empty")

    _script(
        tmp_repo,
        f"sys.path.append({str(site)!r})\n"
        "run(0)\n"
        f"info = os.path.join({str(site)!r}, 'sweeplib-1.0.dist-info')\n"
        "os.mkdir(info)\n"
        "open(os.path.join(info, 'METADATA'), 'w').write('Name: sweeplib\\nVersion: 1.0\\n')\n"
        "run(1)\n"
        "os.rename(info, info.replace('1.0', '2.0'))\n"
        "open(os.path.join(info.replace('1.0', '2.0'), 'METADATA'), 'w').write('Name: sweeplib\\nVersion: 2.0\\n')\n"
        "run(2)\n"
        "run(3)\n",
    )

    versions = {}
    for name, record in _by_name(tmp_repo).items():
        lock = show_json(record["summary"]["id"], cwd=tmp_repo.root)["environment"]
        versions[name] = {p["name"]: p["version"] for p in lock["packages"]}.get("sweeplib")
    assert versions == {"trial-0": None, "trial-1": "1.0", "trial-2": "2.0", "trial-3": "2.0"}


def test_a_ledger_file_removed_between_trials_gets_the_next_trial(tmp_repo: TmpRepo) -> None:
    tmp_repo.commit("empty")
    db = tmp_repo.root / ".git" / "ledger" / "ledger.db"

    _script(
        tmp_repo,
        "run(0)\nrun(1)\n"
        f"for suffix in ('', '-wal', '-shm'):\n    if os.path.exists({str(db)!r} + suffix):\n"
        f"        os.remove({str(db)!r} + suffix)\n"
        "run(2)\n",
    )

    # Written through the connection to the removed file, trial 2 would be lost.
    assert [r["name"] for r in runs_json(cwd=tmp_repo.root)] == ["trial-2"]


def test_forked_workers_and_their_parent_all_record(tmp_repo: TmpRepo) -> None:
    tmp_repo.commit("empty")

    _script(
        tmp_repo,
        "run(0)\n"
        "children = []\n"
        "for i in (1, 2):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        try:\n"
        "            run(i)\n"
        "        finally:\n"
        "            os._exit(0)\n"
        "    children.append(pid)\n"
        "    os.waitpid(pid, 0)\n"  # one at a time: this is about the inherited connection
        "run(3)\n",
    )

    runs = _by_name(tmp_repo)
    assert sorted(runs) == ["trial-0", "trial-1", "trial-2", "trial-3"]
    assert {r["summary"]["status"] for r in runs.values()} == {"finished"}
    with sqlite3.connect(tmp_repo.root / ".git" / "ledger" / "ledger.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_repository_made_around_the_sweep_folder_records_its_own_runs(tmp_repo: TmpRepo) -> None:
    work = tmp_repo.root / "work"
    tmp_repo.gen({"work/README": "experiments\n"})
    tmp_repo.commit("outer")

    _script(
        tmp_repo,
        "run(0)\n"
        "subprocess.run(['git', 'init', '-q', '.'], check=True)\n"  # the folder becomes its own repository
        "run(1)\n",
        cwd=work,
    )

    assert [r["name"] for r in runs_json(cwd=tmp_repo.root)] == ["trial-0"]
    (inner_run,) = runs_json(cwd=work)
    assert inner_run["name"] == "trial-1"
    assert show_json(inner_run["id"], cwd=work)["run"]["repo"] == str(work)


def test_each_trial_snapshots_the_code_it_ran(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"model.py": "DEPTH = 0\n"})
    tmp_repo.commit()

    _script(
        tmp_repo,
        "for i in range(3):\n"
        "    open('model.py', 'w').write(f'DEPTH = {i}\\n')\n"
        "    run(i)\n"
        "subprocess.run(['git', 'commit', '-qam', 'depth 2'], check=True)\n"
        "run(3)\n",
    )

    runs = _by_name(tmp_repo)
    shown = {name: tmp_repo.git("show", f"{r['snapshot']}:model.py") for name, r in runs.items()}
    assert shown == {
        "trial-0": "DEPTH = 0",
        "trial-1": "DEPTH = 1",
        "trial-2": "DEPTH = 2",
        "trial-3": "DEPTH = 2",
    }
    assert [runs[f"trial-{i}"]["summary"]["dirty"] for i in range(4)] == [False, True, True, False]
    assert runs["trial-3"]["snapshot"] == tmp_repo.git("rev-parse", "HEAD")


def test_later_trials_ask_git_only_what_a_trial_can_change(tmp_repo: TmpRepo, tmp_path: Path) -> None:
    """Per trial: the work tree before, the snapshot's ref, the work tree after. Where the
    repository is, a commit's tree and the tracked DVC files are asked once."""
    tmp_repo.gen({
        "params.yaml": "lr: 0.1\n",
        "data.dvc": "outs:\n- md5: 3f786850e387550fdab836ed7e6dc881\n  size: 6\n  path: data\n",
        "stages/dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n",
    })  # fmt: skip
    tmp_repo.commit()
    index = tmp_repo.root / ".git" / "index"
    os.utime(index, (time.time() - 60, time.time() - 60))  # an index last written a minute ago
    trace = tmp_path / "trace2.json"

    _script(tmp_repo, f"run(0)\nos.environ['GIT_TRACE2_EVENT'] = {str(trace)!r}\nrun(1)\nrun(2)\n")

    commands = [
        event["argv"][1:]
        for event in map(json.loads, trace.read_text().splitlines())
        if event["event"] == "start" and "/" not in event["sid"]
    ]
    asked = [next(a for a in argv if not a.startswith("-")) for argv in commands]
    assert sorted(asked) == ["status"] * 4 + ["update-ref"] * 2
    runs = _by_name(tmp_repo)
    for name in ("trial-1", "trial-2"):
        assert [(d["path"], d["source"]) for d in runs[name]["data"]] == [("data", "data.dvc")]


def test_later_trials_read_no_distribution_metadata(tmp_repo: TmpRepo) -> None:
    tmp_repo.commit("empty")

    _script(
        tmp_repo,
        "reads = []\n"
        "def audit(event, args):\n"
        "    if event == 'open' and str(args[0]).endswith(('METADATA', 'PKG-INFO')):\n"
        "        reads.append(args[0])\n"
        "sys.addaudithook(audit)\n"
        "run(0)\n"
        "first = len(reads)\n"
        "run(1)\n"
        "run(2)\n"
        "print(first, len(reads) - first)\n"
        "assert first > 50 and len(reads) == first, (first, len(reads))\n",
    )

    runs = _by_name(tmp_repo)
    assert runs["trial-2"]["environment_digest"] == runs["trial-0"]["environment_digest"]
