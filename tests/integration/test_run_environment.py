"""The environment recorded is the one the run's Python code ran in, not the ledger's."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger_process, show_json

if TYPE_CHECKING:
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration


def _project_venv(where: Path) -> Path:
    """A virtualenv of the project's own, holding one distribution the ledger's has not."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site = next(where.glob("lib/python*/site-packages"))
    info = site / "projectlib-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: projectlib\nVersion: 1.2.3\n")
    return where / "bin" / "python"


@pytest.fixture(scope="session")
def project_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of the project's own virtualenv, made once for the tests that run
    in it (their runs only read it)."""
    return _project_venv(tmp_path_factory.mktemp("project") / "project-venv")


def _packages(run: str = "latest") -> dict[str, str]:
    return {p["name"]: p["version"] for p in show_json(run)["environment"]["packages"]}


@pytest.fixture
def project(tmp_repo: TmpRepo) -> TmpRepo:
    tmp_repo.gen({"train.py": "print('loss: 0.5')\n"})
    tmp_repo.commit("code")
    return tmp_repo


def test_a_run_in_the_projects_own_venv_records_that_venv(project: TmpRepo, project_python: Path) -> None:
    ledger_process("run", "--", str(project_python), "train.py")

    packages = _packages()
    assert packages.get("projectlib") == "1.2.3"
    assert "exp-ledger" not in packages
    assert show_json("latest")["run"]["capture_errors"] == []


def test_a_tool_records_the_python_its_path_finds(project: TmpRepo, project_python: Path) -> None:
    path = f"{project_python.parent}{os.pathsep}{os.environ['PATH']}"

    ledger_process("run", "--", "sh", "-c", "python train.py", env={"PATH": path})

    assert _packages().get("projectlib") == "1.2.3"


def test_a_run_in_the_ledgers_own_interpreter_records_it(project: TmpRepo) -> None:
    ledger_process("run", "--", sys.executable, "train.py")

    packages = _packages()
    assert "exp-ledger" in packages
    assert "projectlib" not in packages


def test_an_interpreter_that_does_not_start_is_a_capture_problem_not_a_lost_run(
    project: TmpRepo, tmp_path: Path
) -> None:
    broken = tmp_path / "bin" / "python3"
    broken.parent.mkdir()
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)

    proc = ledger_process("run", "--", str(broken), "train.py", check=False)

    assert proc.returncode == 1
    shown = show_json("latest")["run"]
    assert shown["summary"]["status"] == "failed"
    assert any(e.startswith("environment:") for e in shown["capture_errors"])


def test_reproduce_compares_the_environment_the_command_will_run_in(
    project: TmpRepo, project_python: Path
) -> None:
    ledger_process("run", "--", str(project_python), "train.py")
    run_id = show_json("latest")["run"]["summary"]["id"]

    plan = ledger_process("reproduce", run_id, "--dry-run").stdout

    assert "no drift" in plan
    assert "exp-ledger" not in plan
