"""`examples/demo.py` end to end: the README's first command must keep working."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import runs_json, show_json

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


_built: dict[str, Path] = {}
"""The demo folder, built by whichever test needs it first and only read afterwards."""


@pytest.fixture
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the demo once per session: it takes seconds, and every test only reads it.

    Function-scoped with a cache rather than module-scoped, because a module fixture
    would run before conftest's autouse isolation (HOME, git config, PATH) is in place.
    """
    if "root" in _built:
        return _built["root"]
    if shutil.which("dvc") is None:
        pytest.skip("dvc is not installed")
    root = tmp_path_factory.mktemp("demo") / "project"
    proc = subprocess.run(
        [sys.executable, str(DEMO), "--dir", str(root)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"demo exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "$ ledger list" in proc.stdout
    assert "what to try next" in proc.stdout
    _built["root"] = root
    return root


@pytest.fixture
def runs(demo_dir: Path) -> dict[str, dict[str, Any]]:
    """The demo's runs by name, as `ledger list --json` gives them."""
    return {run["name"]: run for run in runs_json(cwd=demo_dir)}


def test_two_named_runs_with_their_params(runs: dict[str, dict[str, Any]]) -> None:
    assert set(runs) == {"baseline", "higher-lr"}
    assert runs["baseline"]["params"]["lr"] == 0.01
    assert runs["baseline"]["params"]["epochs"] == 10
    assert runs["higher-lr"]["params"]["lr"] == 0.1
    assert runs["higher-lr"]["params"]["epochs"] == 20
    assert all(run["status"] == "finished" and run["tags"] == ["demo"] for run in runs.values())


def test_runs_learnt_something(runs: dict[str, dict[str, Any]]) -> None:
    for run in runs.values():
        assert run["metrics"]["test_acc"] > 0.8
        assert run["metrics"]["val_acc"] > 0.8
        assert {"acc", "loss", "val_loss"} <= set(run["metrics"])


def test_only_the_second_run_is_dirty(runs: dict[str, dict[str, Any]]) -> None:
    assert runs["baseline"]["dirty"] is False
    assert runs["higher-lr"]["dirty"] is True


def test_per_epoch_series_logged_through_the_api(demo_dir: Path, runs: dict[str, dict[str, Any]]) -> None:
    shown = show_json(runs["higher-lr"]["id"], cwd=demo_dir)
    assert shown["series"]["val_acc"]["steps"] == list(range(1, 21))


def test_data_ref_matches_the_dvc_file(demo_dir: Path, runs: dict[str, dict[str, Any]]) -> None:
    out = yaml.safe_load((demo_dir / "data" / "raw.dvc").read_text())["outs"][0]
    assert out["md5"].endswith(".dir")

    data = show_json(runs["higher-lr"]["id"], cwd=demo_dir)["run"]["data"]

    item = next(d for d in data if d["path"] == "data/raw")
    assert item["value"] == out["md5"]
    assert item["nfiles"] == 2
    assert item["workspace_match"] is True


def test_snapshot_holds_the_uncommitted_params_edit(demo_dir: Path, runs: dict[str, dict[str, Any]]) -> None:
    ref = f"refs/ledger/runs/{runs['higher-lr']['id']}"

    diff = subprocess.run(
        ["git", "diff", "--name-only", "HEAD", ref], cwd=demo_dir, capture_output=True, text=True, check=True
    ).stdout.split()

    assert diff == ["params.yaml"]
