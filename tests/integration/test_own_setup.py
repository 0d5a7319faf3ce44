"""The ledger's own setup is not the user's uncommitted change: `ledger init`, then a run."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration


@pytest.fixture
def initialised(tmp_repo: TmpRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TmpRepo:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    tmp_repo.gen({"train.py": "print('loss: 0.5')\n"})
    tmp_repo.commit("code")
    ledger("init")
    assert tmp_repo.git("status", "--porcelain") == "?? .pre-commit-config.yaml"
    return tmp_repo


def _run(repo: TmpRepo) -> dict[str, Any]:
    ledger_process("run", "--", sys.executable, "train.py", cwd=repo.root)
    run: dict[str, Any] = show_json(runs_json(cwd=repo.root)[0]["id"], cwd=repo.root)["run"]
    return run


def test_the_config_ledger_init_wrote_does_not_make_the_run_dirty(initialised: TmpRepo) -> None:
    run = _run(initialised)

    assert run["summary"]["dirty"] is False
    assert "ledger-post-commit" in initialised.git("show", f"{run['snapshot']}:.pre-commit-config.yaml")
    listed, commit = ledger("list").stdout, run["summary"]["commit"][:8]
    assert commit in listed
    assert f"{commit}*" not in listed


def test_a_hook_of_the_users_own_in_that_config_makes_it_dirty(initialised: TmpRepo) -> None:
    config = initialised.root / ".pre-commit-config.yaml"
    config.write_text(
        config.read_text()
        + "  - repo: local\n    hooks:\n      - id: mine\n        name: mine\n        entry: 'true'\n"
        "        language: system\n"
    )

    assert _run(initialised)["summary"]["dirty"] is True


def test_a_config_with_the_hooks_of_an_older_ledger_updated_is_still_clean(initialised: TmpRepo) -> None:
    config = initialised.root / ".pre-commit-config.yaml"
    current = config.read_text()
    config.write_text(current.replace("ledger-hook post-commit", "ledger-hook-old post-commit"))
    initialised.commit("hooks of an older ledger")
    ledger("init")  # updates the entry in place

    assert initialised.git("status", "--porcelain") == "M .pre-commit-config.yaml"
    assert _run(initialised)["summary"]["dirty"] is False
