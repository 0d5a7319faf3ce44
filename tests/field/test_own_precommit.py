"""A project that already has its own `.pre-commit-config.yaml`, with remote hook repos.

The shape of most maintained Python repositories: `pre-commit-hooks` and ruff fetched
from GitHub by pre-commit. This machine is offline and pre-commit has cached nothing,
as on a new clone or CI: pre-commit cannot fetch those repositories. `ledger init`
merges its hooks in; a run made straight after is not dirty because of that; a
commit through the installed hooks still goes through and links the run. An edit of
the user's own to the same file makes a run dirty.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json
from tests.projects import building

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OWN_CONFIG = """\
# See https://pre-commit.com for more information
repos:
-   repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v4.6.0
    hooks:
    -   id: trailing-whitespace
    -   id: end-of-file-fixer
    -   id: check-yaml
-   repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.4.4
    hooks:
    -   id: ruff
        args: [--fix]
"""

TRAIN = "import json\njson.dump({'acc': 0.91}, open('metrics.json', 'w'))\n"


@dataclass(frozen=True)
class Ran:
    """The project after one run straight after `ledger init`."""

    repo: TmpRepo
    run: dict[str, object]
    """`ledger show --json`'s record of the run."""


@pytest.fixture(scope="session")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> TmpRepo:
    """The project with its own hooks, then `ledger init`, built once: a test changes a copy."""
    with building(tmp_path_factory, "own-precommit") as repo, pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRE_COMMIT_HOME", str(repo.root.parent / "pre-commit-home"))  # nothing cached
        repo.gen({".pre-commit-config.yaml": OWN_CONFIG, "train.py": TRAIN, ".gitignore": "metrics.json\n"})
        repo.commit("project with its own hooks")
        ledger("init")
    return repo


@pytest.fixture(scope="session")
def ran(initialised: TmpRepo, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """One run on a copy of `initialised`, made once."""
    with (
        building(tmp_path_factory, "own-precommit-ran", initialised.root) as repo,
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("PRE_COMMIT_HOME", str(repo.root.parent / "pre-commit-home"))
        run = _run(repo)
    return Ran(repo, run)


@pytest.fixture
def project(
    initialised: TmpRepo,
    own_copy: Callable[[TmpRepo], TmpRepo],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> TmpRepo:
    """This test's copy of `initialised`, with pre-commit's cache empty."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))  # nothing cached
    return own_copy(initialised)


def _commit(repo: TmpRepo, message: str) -> subprocess.CompletedProcess[str]:
    repo.git("add", "-A")
    return subprocess.run(
        ["git", "commit", "-m", message],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ,
    )


def _run(repo: TmpRepo) -> dict[str, object]:
    ledger_process("run", "--", sys.executable, "train.py")
    run: dict[str, object] = show_json(runs_json()[0]["id"])["run"]
    return run


def test_the_first_run_after_init_is_not_dirty(initialised: TmpRepo, ran: Ran) -> None:
    # The work tree the run started from.
    assert initialised.git("status", "--porcelain") == "M .pre-commit-config.yaml"

    run = ran.run

    summary = run["summary"]
    assert isinstance(summary, dict)
    assert summary["dirty"] is False
    # The snapshot still holds the config as the run saw it.
    snapshot = run["snapshot"]
    assert snapshot != summary["commit"]
    assert "ledger-post-commit" in ran.repo.git("show", f"{snapshot}:.pre-commit-config.yaml")
    text = ledger("show", summary["id"], cwd=ran.repo.root).stdout
    assert "clean; also holds exp-ledger's own uncommitted setup in .pre-commit-config.yaml" in text


def test_a_commit_through_the_hooks_works_offline_and_links_the_run(
    ran: Ran, own_copy: Callable[[TmpRepo], TmpRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))  # nothing cached
    project = own_copy(ran.repo)
    run = ran.run

    done = _commit(project, "add the ledger's hooks")

    assert done.returncode == 0, done.stdout + done.stderr
    sha = project.git("rev-parse", "HEAD")
    run_id = run["summary"]["id"]  # type: ignore[index]
    assert f"Ledger-Run: {run_id[:16]}" in project.git("log", "-1", "--format=%B")
    assert show_json(run_id)["run"]["linked_commits"] == [sha]
    # The user's own hooks are still theirs: nothing of them was dropped from the file.
    committed = project.git("show", "HEAD:.pre-commit-config.yaml")
    assert "https://github.com/pre-commit/pre-commit-hooks" in committed
    assert "astral-sh/ruff-pre-commit" in committed


def test_a_code_change_committed_later_is_linked_only_to_its_own_run(project: TmpRepo) -> None:
    _commit(project, "add the ledger's hooks")
    project.gen({"train.py": TRAIN.replace("0.91", "0.93")})
    first = _run(project)
    project.gen({"train.py": TRAIN.replace("0.91", "0.95")})
    second = _run(project)

    done = _commit(project, "better model")

    assert done.returncode == 0, done.stdout + done.stderr
    sha = project.git("rev-parse", "HEAD")
    assert show_json(second["summary"]["id"])["run"]["linked_commits"] == [sha]  # type: ignore[index]
    assert show_json(first["summary"]["id"])["run"]["linked_commits"] == []  # type: ignore[index]


def test_a_users_own_edit_of_the_config_makes_the_run_dirty(project: TmpRepo) -> None:
    config = project.root / ".pre-commit-config.yaml"
    config.write_text(config.read_text().replace("rev: v0.4.4", "rev: v0.5.0"))

    run = _run(project)

    assert run["summary"]["dirty"] is True  # type: ignore[index]
    assert "clean" not in ledger("show", run["summary"]["id"]).stdout.split("snapshot", 1)[1].split("\n")[0]  # type: ignore[index]


def test_another_changed_file_makes_the_run_dirty(project: TmpRepo) -> None:
    project.gen({"train.py": TRAIN + "# tuned\n"})

    run = _run(project)

    assert run["summary"]["dirty"] is True  # type: ignore[index]


def test_diff_and_reproduce_of_runs_made_beside_the_users_hooks(project: TmpRepo) -> None:
    _commit(project, "add the ledger's hooks")
    first = _run(project)["summary"]["id"]  # type: ignore[index]
    project.gen({"train.py": TRAIN.replace("0.91", "0.95")})
    second = _run(project)["summary"]["id"]  # type: ignore[index]

    diff = json.loads(ledger("diff", first, second, "--json").stdout)
    done = ledger_process("reproduce", first, check=False)

    assert {m["key"]: m["values"] for m in diff["metrics"]} == {"acc": [0.91, 0.95]}
    assert [f[0] for f in diff["code"][0]["files"]] == ["train.py"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"reproduces {first[:7]}\w*: matched", done.stderr)
