"""The git hooks `ledger init` writes, on real commits: the ledger's hook runs directly,
pre-commit only for the config's other hooks, and a later `pre-commit install` neither
doubles nor stops the ledger's hooks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger, ledger_process, log_python_calls, runs_json, show_json

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PY = sys.executable
PRE_COMMIT = str(Path(PY).parent / "pre-commit")
TRAIN = "import json, sys\njson.dump({'acc': float(sys.argv[1])}, open('metrics.json', 'w'))\n"
REMOTE_CONFIG = """\
repos:
-   repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v4.6.0
    hooks:
    -   id: trailing-whitespace
    -   id: check-yaml
"""


@pytest.fixture
def repo(tmp_repo: TmpRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TmpRepo:
    """Code committed; pre-commit has cached nothing and cannot download (offline)."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    tmp_repo.gen({"train.py": TRAIN, "params.yaml": "lr: 0.1\n"})
    tmp_repo.commit("code")
    return tmp_repo


def _commit(
    repo: TmpRepo, message: str, *, hooks: bool = True, add: bool = True, check: bool = True
) -> subprocess.CompletedProcess[str]:
    if add:
        repo.git("add", "-A")
    proc = subprocess.run(
        ["git", "commit", "-q", "-m", message],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LEDGER_HOOKS": "1" if hooks else "0"},
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _calls(log: Path, what: str) -> int:
    return log.read_text().count(what) if log.exists() else 0


def test_a_commit_prints_nothing_from_the_ledger(repo: TmpRepo) -> None:
    """Unstaged changes too: nothing is stashed, nothing is said, the commit is recorded."""
    ledger("init")
    _commit(repo, "hooks", hooks=False)
    repo.gen({"metrics.json": '{"acc": 0.5}', "notes.txt": "draft\n"})
    repo.git("add", "metrics.json")

    done = _commit(repo, "results", add=False)

    assert done.stdout + done.stderr == ""
    assert repo.git("status", "--porcelain") == "?? notes.txt"
    assert [r["metrics"] for r in runs_json()] == [{"acc": 0.5}]


def test_a_branch_from_before_the_config_commits_and_is_recorded(repo: TmpRepo) -> None:
    ledger("init", "--stages", "post-commit,prepare-commit-msg,post-rewrite,pre-commit")
    _commit(repo, "hooks", hooks=False)
    repo.git("checkout", "-q", "-b", "old", "HEAD~1")
    assert not (repo.root / ".pre-commit-config.yaml").exists()
    repo.gen({"metrics.json": '{"acc": 0.25}'})

    done = _commit(repo, "results on an old branch")

    assert "pre-commit-config" not in done.stdout + done.stderr
    assert [(r["branch"], r["metrics"]) for r in runs_json()] == [("old", {"acc": 0.25})]


def test_remote_hook_repositories_need_no_network(repo: TmpRepo) -> None:
    """Offline, with nothing cached: commits go through with the hooks on and off."""
    repo.gen({".pre-commit-config.yaml": REMOTE_CONFIG})
    _commit(repo, "the project's own hooks")
    ledger("init")
    ledger_process("run", "--", PY, "train.py", "0.9")
    run_id = runs_json()[0]["id"]

    _commit(repo, "results")
    repo.gen({"README.md": "scripted\n"})
    _commit(repo, "scripted", hooks=False)

    sha = repo.git("rev-parse", "HEAD~1")
    assert f"Ledger-Run: {run_id[:16]}" in repo.git("log", "-1", "--format=%B", sha)
    assert show_json(run_id)["run"]["linked_commits"] == [sha]
    check = ledger("init", "--check")
    assert "download" not in check.stdout
    assert "then pre-commit" not in check.stdout


def test_check_names_what_a_hook_type_needs_downloaded(repo: TmpRepo) -> None:
    repo.gen(
        {
            ".pre-commit-config.yaml": REMOTE_CONFIG.replace(
                "id: check-yaml", "id: notify\n        stages: [post-commit]"
            )
        }
    )
    ledger("init")

    lines = ledger("init", "--check").stdout.splitlines()

    post_commit = next(line for line in lines if "git hook post-commit" in line)
    assert post_commit.startswith("ok")
    assert "pre-commit must be able to download https://github.com/pre-commit/pre-commit-hooks" in post_commit
    assert not any("download" in line for line in lines if "git hook prepare-commit-msg" in line)


def test_the_configs_other_hooks_for_a_type_still_run_once(repo: TmpRepo, tmp_path: Path) -> None:
    ran = tmp_path / "ran.log"
    repo.gen({
        ".pre-commit-config.yaml": (
            "repos:\n- repo: local\n  hooks:\n"
            f"  - id: notify\n    name: notify\n    entry: sh -c 'echo post-commit >> {ran}'\n"
            "    language: system\n    stages: [post-commit]\n    always_run: true\n    pass_filenames: false\n"
            f"  - id: lint\n    name: lint\n    entry: sh -c 'echo pre-commit >> {ran}'\n"
            "    language: system\n    always_run: true\n    pass_filenames: false\n"
            "  - id: no-blocked\n    name: no blocked files\n    entry: 'false'\n"
            "    language: system\n    files: ^blocked\\.txt$\n"
        ),
    })  # fmt: skip
    _commit(repo, "the project's own hooks", hooks=False)
    ledger("init", "--stages", "post-commit,prepare-commit-msg,post-rewrite,pre-commit")
    log = log_python_calls(repo, tmp_path)
    repo.gen({"metrics.json": '{"acc": 0.5}'})

    _commit(repo, "results")

    assert ran.read_text().splitlines() == ["pre-commit", "post-commit"]
    assert _calls(log, "-m ledger.commits.ingest") == 1  # the ledger's post-commit hook, once
    repo.gen({"blocked.txt": "x\n"})
    blocked = _commit(repo, "a file the project's own hook refuses", check=False)
    assert blocked.returncode != 0
    assert "no blocked files" in blocked.stdout + blocked.stderr


def test_a_later_pre_commit_install_neither_doubles_nor_stops_the_ledgers_hooks(
    repo: TmpRepo, tmp_path: Path
) -> None:
    ledger("init")
    _commit(repo, "hooks", hooks=False)
    subprocess.run([PRE_COMMIT, "install"], cwd=repo.root, check=True, capture_output=True)
    log = log_python_calls(repo, tmp_path)
    ledger_process("run", "--", PY, "train.py", "0.7")
    run_id = runs_json()[0]["id"]

    _commit(repo, "results")

    assert _calls(log, "-m ledger.hooks prepare-commit-msg") == 1
    assert _calls(log, "-m ledger.commits.ingest") == 1
    assert show_json(run_id)["run"]["linked_commits"] == [repo.git("rev-parse", "HEAD")]
    check = ledger("init", "--check", check=False)
    assert check.returncode == 1
    assert "is pre-commit's" in check.stdout
    ledger("init")
    assert ledger("init", "--check").returncode == 0


@pytest.mark.parametrize("own_edit", [False, True], ids=["clean", "own-unstaged-edit"])
def test_init_stages_the_config_pre_commits_own_hook_would_refuse(repo: TmpRepo, own_edit: bool) -> None:
    """The project runs pre-commit at the pre-commit stage; pre-commit refuses to run while
    its config has unstaged changes: `ledger init` stages its own, never the user's."""
    config = repo.root / ".pre-commit-config.yaml"
    repo.gen({
        ".pre-commit-config.yaml": (
            "repos:\n- repo: local\n  hooks:\n  - id: lint\n    name: lint\n    entry: 'true'\n"
            "    language: system\n"
        ),
    })  # fmt: skip
    _commit(repo, "the project's own hooks")
    subprocess.run([PRE_COMMIT, "install"], cwd=repo.root, check=True, capture_output=True)
    if own_edit:
        config.write_text(config.read_text() + "# mine, not ready\n")

    out = ledger("init").stdout

    if own_edit:
        assert "before your next commit, run `git add .pre-commit-config.yaml`" in out
        assert repo.git("diff", "--cached", "--name-only") == ""
        return
    assert "staged .pre-commit-config.yaml" in out
    assert repo.git("diff", "--name-only") == ""
    repo.gen({"README.md": "docs\n"})
    repo.git("add", "README.md")
    _commit(repo, "docs and the staged hooks", add=False)
    assert "ledger-post-commit" in repo.git("show", "HEAD:.pre-commit-config.yaml")
