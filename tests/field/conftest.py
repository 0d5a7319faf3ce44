"""The field tests' own copy of a project built once and shared (tests/field/shared.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.field.shared import copy_project

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo


@pytest.fixture
def own_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[TmpRepo], TmpRepo]:
    """`own_copy(project)`: this test's copy of a shared project, as the working directory."""

    def copy(project: TmpRepo) -> TmpRepo:
        repo = copy_project(project.root, tmp_path / "repo")
        monkeypatch.chdir(repo.root)
        return repo

    return copy
