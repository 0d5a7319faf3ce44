"""The fault tests' training project, made once per worker and copied into each test
(tests/projects.py)."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from tests.faults.training_repo import make_project
from tests.projects import building, copy_project

if TYPE_CHECKING:
    from tests.repo import TmpRepo


@pytest.fixture(scope="session")
def _project_template(tmp_path_factory: pytest.TempPathFactory) -> TmpRepo:
    """Fixed identities and dates give every test the same commits, and nothing in the
    repository names its folder until a run is recorded."""
    with building(tmp_path_factory, "project-template") as repo:
        make_project(repo)
    return repo


@pytest.fixture
def project(tmp_repo: TmpRepo, _project_template: TmpRepo, monkeypatch: pytest.MonkeyPatch) -> TmpRepo:
    """`tmp_repo` as `make_project` leaves it: `train.py`, `params.yaml`, `ledger init`."""
    shutil.rmtree(tmp_repo.root)
    copy_project(_project_template.root, tmp_repo.root)
    monkeypatch.chdir(tmp_repo.root)
    return tmp_repo
