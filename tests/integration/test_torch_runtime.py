"""The torch a run had, reported by the run's own processes: real torch (the CPU build)."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

TORCH = metadata.version("torch")

TRAIN = """\
import torch
x = torch.ones(3) * 2
print("sum", float(x.sum()))
"""

NO_TORCH = """\
import atexit, sys
atexit.register(lambda: print("torch imported:", "torch" in sys.modules))
print("no torch here")
"""


def _show(repo: TmpRepo) -> tuple[dict[str, Any], str]:
    run_id = runs_json(cwd=repo.root)[0]["id"]
    return show_json(run_id, cwd=repo.root)["run"], ledger("show", run_id, cwd=repo.root).stdout


def test_a_script_that_imports_torch_records_its_build_and_devices(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": TRAIN})
    tmp_repo.commit()

    ledger_process("run", "--", sys.executable, "train.py")

    run, text = _show(tmp_repo)
    assert run["torch"] == {
        "version": TORCH,
        "cuda_build": None,
        "cuda_available": False,
        "device_count": 0,
        "cuda_used": False,
        "devices": [],
    }
    assert f"torch            {TORCH} (CPU build), no CUDA device" in text
    assert "CUDA 1" not in text


def test_a_script_without_torch_records_no_devices_and_never_imports_it(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"eval.py": NO_TORCH})
    tmp_repo.commit()

    out = ledger_process("run", "--", sys.executable, "eval.py").stdout

    assert "torch imported: False" in out
    run, text = _show(tmp_repo)
    assert run["torch"] is None
    assert f"torch            {TORCH} (CPU build); the run did not report importing torch" in text


def test_a_sitecustomize_of_the_users_still_runs(
    tmp_repo: TmpRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "site"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import os\nos.environ['USER_SITE_RAN'] = 'yes'\n")
    monkeypatch.setenv("PYTHONPATH", str(own))
    tmp_repo.gen(
        {"train.py": TRAIN + "import os, sys\nprint('user site:', os.environ.get('USER_SITE_RAN'))\n"}
    )
    tmp_repo.commit()

    out = ledger_process("run", "--", sys.executable, "train.py").stdout

    assert "user site: yes" in out
    run, _ = _show(tmp_repo)
    assert run["torch"] is not None


def test_a_run_made_with_the_api_records_the_torch_it_imported(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen(
        {
            "train.py": "import ledger, torch\nwith ledger.start_run():\n    ledger.log_metrics({'loss': 0.5})\n"
        }
    )
    tmp_repo.commit()

    subprocess.run([sys.executable, "train.py"], cwd=tmp_repo.root, check=True)

    run, _ = _show(tmp_repo)
    assert run["torch"] is not None
    assert run["torch"]["version"] == TORCH
