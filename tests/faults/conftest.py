"""The fault tests' training project, made once per worker and copied into each test
(DVC's template trick, as tests/conftest.py does for `dvc init`)."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.faults.training_repo import make_project
from tests.helpers import wait_until
from tests.repo import TmpRepo

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def _project_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the worker's template project is made, by the first test that asks for it."""
    return tmp_path_factory.mktemp("project-template")


@pytest.fixture
def project(tmp_repo: TmpRepo, _project_folder: Path, monkeypatch: pytest.MonkeyPatch) -> TmpRepo:
    """`tmp_repo` as `make_project` leaves it: `train.py`, `params.yaml`, `ledger init`.

    The template is made under the isolated environment of the first test that asks for
    it, as that test would have made it: fixed identities and dates give every test the
    same commits, and nothing in the repository names its folder until a run is recorded.
    It is copied once the ingester the post-commit hook started is done with it.
    """
    template = _project_folder / "repo"
    if not template.exists():
        building = _project_folder / "building"
        building.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main", str(building)], check=True)
        make_project(TmpRepo(building))
        _wait_for_ingest(building)
        building.rename(template)
    shutil.rmtree(tmp_repo.root)
    shutil.copytree(template, tmp_repo.root, symlinks=True)
    monkeypatch.chdir(tmp_repo.root)
    return tmp_repo


def _wait_for_ingest(root: Path) -> None:
    """Until the hook's detached ingester has taken every event and closed the ledger: it
    opens the ledger before it takes an event, and SQLite removes the write-ahead log
    when the last connection closes."""
    ledger_dir = root / ".git" / "ledger"
    wait_until(lambda: not any((ledger_dir / "inbox").glob("*.commit")), "the commit's ingest")
    wait_until(lambda: not (ledger_dir / "ledger.db-wal").exists(), "the ingester's end")
