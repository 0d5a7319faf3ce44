"""`ledger reproduce` end to end: real git worktrees, real DVC with a local remote, real runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pytest

from ledger.core.verdict import render_links
from tests.helpers import ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCORE = """\
import json, pathlib
rows = [line for f in sorted(pathlib.Path("data/raw").glob("*.csv")) for line in f.read_text().splitlines()[1:]]
values = [float(r.split(",")[1]) for r in rows]
json.dump({"rows": len(rows), "mean": sum(values) / len(values)}, open("metrics.json", "w"))
"""

NOISY = """\
import json, random
json.dump({"noisy": 0.5 + random.random() / 100, "fixed": 0.25, "missing": float("nan")}, open("metrics.json", "w"))
"""

SIX_VERSION = """\
import json, six
json.dump({"six_minor": int(six.__version__.split(".")[1])}, open("metrics.json", "w"))
"""


def reproduce(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`ledger reproduce ARGS` in the current directory, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "ledger.reproduce.command", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def data_project(repo: TmpRepo, remote: Path | None, script: str = SCORE) -> str:
    """Data tracked by DVC and pushed to a local remote, a script reading it, one run; its ID."""
    repo.gen(
        {
            "data/raw/a.csv": "id,x\n1,0.5\n2,1.5\n",
            "data/raw/b.csv": "id,x\n3,2.25\n",
            "score.py": script,
        }
    )
    repo.dvc_add("data/raw")
    if remote is not None:
        repo.dvc("remote", "add", "-d", "store", str(remote))
        repo.dvc("push", "-q")
    repo.commit("data and script")
    ledger_process("run", "--", "python", "score.py")
    return str(runs_json()[0]["id"])


def worktrees(repo: TmpRepo) -> list[str]:
    return [
        line
        for line in repo.git("worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


def test_reproduces_and_links_both_runs(dvc_repo: TmpRepo, tmp_path: Path) -> None:
    original = data_project(dvc_repo, tmp_path / "remote")

    done = reproduce(original)

    assert done.returncode == 0, done.stderr
    assert "matched: 2 metrics within tolerance" in done.stderr
    new = next(r for r in runs_json() if r["id"] != original)
    assert "reproduction" in new["tags"]
    assert (
        show_json(new["id"])["run"]["summary"]["metrics"] == show_json(original)["run"]["summary"]["metrics"]
    )
    assert len(worktrees(dvc_repo)) == 1  # the reproduction's worktree is gone
    from ledger.core.ids import RunId
    from ledger.read import queries
    from ledger.store.workspace import locate, open_store

    store = open_store(locate())
    try:
        own, _ = queries.get_reproduction_links(store, RunId(new["id"]))
        _, by = queries.get_reproduction_links(store, RunId(original))
    finally:
        store.close()
    assert own is not None
    assert own.original_id == original
    assert own.matched is True
    assert [link.run_id for link in by] == [new["id"]]
    shown = "\n".join(render_links(own, ()))
    assert f"reproduces       {original[:12]}: matched" in shown


def test_dry_run_prints_the_plan_and_changes_nothing(dvc_repo: TmpRepo, tmp_path: Path) -> None:
    original = data_project(dvc_repo, tmp_path / "remote")
    data_hash = show_json(original)["run"]["data"][0]["value"]
    ledger_dir = dvc_repo.root / ".git" / "ledger"
    before = sorted(p.name for p in ledger_dir.iterdir())

    done = reproduce(original, "--dry-run", "--dir", str(tmp_path / "wt"))

    assert done.returncode == 0, done.stderr
    plan = done.stdout
    assert f"git worktree of refs/ledger/runs/{original} at {tmp_path / 'wt'}" in plan
    assert f"data/raw (md5 {data_hash}) from the DVC cache" in plan
    assert "no drift: the current environment is the recorded one" in plan
    interpreter = show_json(original)["run"]["interpreter"]
    assert f"command      {interpreter} score.py" in plan  # the interpreter the run used, by its path
    assert "PYTHONHASHSEED=" in plan
    assert len(runs_json()) == 1
    assert not (tmp_path / "wt").exists()
    assert len(worktrees(dvc_repo)) == 1
    assert sorted(p.name for p in ledger_dir.iterdir()) == before


def test_data_comes_back_from_the_remote_when_the_cache_is_gone(dvc_repo: TmpRepo, tmp_path: Path) -> None:
    original = data_project(dvc_repo, tmp_path / "remote")
    shutil.rmtree(dvc_repo.root / ".dvc" / "cache")

    done = reproduce(original)

    assert done.returncode == 0, done.stderr
    assert "data/raw: restored from the DVC remote 'store' (fetched into the cache), verified" in done.stderr
    assert (dvc_repo.root / ".dvc" / "cache" / "files" / "md5").is_dir()  # fetched into the repo's cache


def test_data_gone_from_cache_and_remote_is_one_clear_error_and_nothing_runs(
    dvc_repo: TmpRepo, tmp_path: Path
) -> None:
    original = data_project(dvc_repo, tmp_path / "remote")
    data_hash = show_json(original)["run"]["data"][0]["value"]
    shutil.rmtree(dvc_repo.root / ".dvc" / "cache")
    shutil.rmtree(tmp_path / "remote")

    done = reproduce(original)

    assert done.returncode == 5  # could not run: not "did not match"
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert f"data missing: data/raw (md5 {data_hash})" in errors[0]
    assert "nothing was run" in errors[0]
    assert "Traceback" not in done.stderr
    assert len(runs_json()) == 1
    assert len(worktrees(dvc_repo)) == 1


def test_dry_run_says_when_data_cannot_be_restored(dvc_repo: TmpRepo) -> None:
    original = data_project(dvc_repo, None)
    shutil.rmtree(dvc_repo.root / ".dvc" / "cache")

    done = reproduce(original, "--dry-run")

    assert done.returncode == 5
    assert "MISSING (not in the DVC cache, no remote)" in done.stdout
    problem = next(line for line in done.stdout.splitlines() if "PROBLEM" in line)
    assert "data missing: data/raw (md5 " in problem
    assert "no DVC remote is configured; nothing was run" in problem
    assert len(runs_json()) == 1


def test_non_deterministic_metrics_differ_until_a_tolerance_covers_them(
    dvc_repo: TmpRepo, tmp_path: Path
) -> None:
    original = data_project(dvc_repo, tmp_path / "remote", script=NOISY)

    differs = reproduce(original)
    tolerated = reproduce(original, "--tolerance", "noisy=0.02")
    dvc_repo.gen({"pyproject.toml": "[tool.ledger]\ntolerance = { noisy = [0.0, 0.05] }\n"})
    configured = reproduce(original)

    assert differs.returncode == 1, differs.stderr
    row = next(line for line in differs.stdout.splitlines() if line.startswith("noisy"))
    assert row.endswith("exact      DIFFERS")
    assert "did not match: noisy drifted (delta " in differs.stderr  # the script set no seed
    assert "fixed" not in differs.stderr.split("did not match")[1]  # NaN == NaN, 0.25 == 0.25
    assert tolerated.returncode == 0, tolerated.stdout + tolerated.stderr
    assert "±0.02" in tolerated.stdout
    assert configured.returncode == 0, configured.stdout + configured.stderr
    assert "±0.05 rel" in configured.stdout


def test_dirty_tree_run_reproduces_its_uncommitted_code(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "import json\njson.dump({'version': 1}, open('metrics.json', 'w'))\n"})
    tmp_repo.commit("v1")
    tmp_repo.gen({"train.py": "import json\njson.dump({'version': 2}, open('metrics.json', 'w'))\n"})
    ledger_process("run", "--", "python", "train.py")
    original = runs_json()[0]
    tmp_repo.git("checkout", "--", "train.py")  # the edit is gone from the work tree

    done = reproduce(original["id"])

    assert done.returncode == 0, done.stderr
    new = next(r for r in runs_json() if r["id"] != original["id"])
    assert new["metrics"] == {"version": 2.0}
    assert original["dirty"] is True


def test_missing_snapshot_ref_falls_back_to_the_commit(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "import json\njson.dump({'v': 1}, open('metrics.json', 'w'))\n"})
    head = tmp_repo.commit("v1")
    ledger_process("run", "--", "python", "train.py")
    original = runs_json()[0]["id"]
    tmp_repo.git("update-ref", "-d", f"refs/ledger/runs/{original}")

    done = reproduce(original)

    assert done.returncode == 0, done.stderr
    assert (
        f"the snapshot ref refs/ledger/runs/{original} is gone; using the run's commit {head[:12]}"
        in done.stderr
    )


@pytest.fixture(scope="module")
def six_16(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """six 1.16.0 installed into a folder of its own (put on PYTHONPATH to shadow the venv's)."""
    target = tmp_path_factory.mktemp("six-1.16.0")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            "six==1.16.0",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot install six==1.16.0: {proc.stderr.strip()[-200:]}")
    return target


def _six_run(repo: TmpRepo, six_16: Path) -> str:
    repo.gen({"check.py": SIX_VERSION})
    repo.commit("check six")
    ledger_process("run", "--", "python", "check.py", env={"PYTHONPATH": str(six_16)})
    return str(runs_json()[0]["id"])


def test_environment_drift_is_reported_precisely(tmp_repo: TmpRepo, six_16: Path) -> None:
    original = _six_run(tmp_repo, six_16)
    try:
        ours = f"changed   six 1.16.0 -> {metadata.version('six')}"
    except metadata.PackageNotFoundError:
        ours = "removed   six 1.16.0"

    plan = reproduce(original, "--dry-run")
    done = reproduce(original)

    assert plan.returncode == 0, plan.stderr
    drift = plan.stdout.split("drift of the current environment from the recorded lockfile:\n")[1]
    drift_lines = [line.strip() for line in drift.splitlines() if line.startswith(" " * 17)]
    assert drift_lines == [ours]
    assert done.returncode == 1  # the current six is another version: so is the metric
    assert "did not match: six_minor" in done.stderr


def test_rebuilt_environment_runs_the_recorded_version(tmp_repo: TmpRepo, six_16: Path) -> None:
    from ledger.capture.environment import capture_environment
    from ledger.core.lockfile import Environment, Package
    from ledger.read import queries
    from ledger.store.workspace import locate, open_store

    original = _six_run(tmp_repo, six_16)
    here = capture_environment()
    tiny = Environment(
        here.python_version, here.implementation, here.platform, (Package("six", "1.16.0", "index"),)
    )
    _set_environment(original, tiny)

    built = reproduce(original, "--env", "rebuild")
    reused = reproduce(original, "--env", "rebuild")

    assert built.returncode == 0, built.stdout + built.stderr
    assert "environment: built virtualenv" in built.stderr
    assert reused.returncode == 0, reused.stderr
    assert "environment: reused virtualenv" in reused.stderr
    new = [r for r in runs_json() if r["id"] != original]
    assert [r["metrics"] for r in new] == [{"six_minor": 16.0}] * 2
    store = open_store(locate())
    try:
        env = queries.get_environment(store, show_json(new[0]["id"])["run"]["environment_digest"])
    finally:
        store.close()
    assert env is not None
    assert [(p.name, p.version) for p in env.packages] == [("six", "1.16.0")]


def _set_environment(run_id: str, env: Any) -> None:
    from ledger.core.ids import RunId
    from ledger.store import annotate
    from ledger.store.workspace import locate, open_store

    store = open_store(locate())
    try:
        annotate.set_environment(store, RunId(run_id), env)
    finally:
        store.close()


def test_unknown_run_is_one_clear_error(tmp_repo: TmpRepo) -> None:
    tmp_repo.commit("empty")

    done = reproduce("deadbeef")

    assert done.returncode == 5
    assert done.stderr.startswith("ledger: error: no run matches 'deadbeef'")


def test_nan_metrics_match_nan(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"nan.py": "import json\njson.dump({'loss': float('nan')}, open('metrics.json', 'w'))\n"})
    tmp_repo.commit("nan")
    ledger_process("run", "--", "python", "nan.py")
    original = runs_json()[0]["id"]

    done = reproduce(original)

    assert done.returncode == 0, done.stdout + done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("loss"))
    assert row.split()[1:3] == ["nan", "nan"]
