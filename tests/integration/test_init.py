"""`ledger init` on real repositories: the config pre-commit reads, and the git hooks."""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.core.error_handler import Exit, error_handler
from ledger.setup.git_hooks import is_ours
from ledger.setup.hook_specs import HOOKS
from ledger.setup.install import register

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")
STAGES = list(dict.fromkeys(h.stage for h in HOOKS if h.default))

EXISTING_CONFIG = """\
# Our checks. See https://pre-commit.com
default_language_version:
    python: python3   # whatever is first on PATH
repos:
    -   repo: https://github.com/pre-commit/pre-commit-hooks
        rev: v4.6.0
        hooks:
            -   id: trailing-whitespace
            -   id: check-yaml
                args: ['--unsafe']

    -   repo: meta
        hooks:
            -   id: identity   # debugging aid
# end of the file
"""

RUN_INIT = """
import argparse, sys
from ledger.core.error_handler import Exit, error_handler
from ledger.setup.install import register
parser = argparse.ArgumentParser(prog="ledger")
register(parser.add_subparsers())
args = parser.parse_args(["init"])
try:
    with error_handler():
        sys.exit(args.func(args))
except Exit as e:
    sys.exit(e.code)
"""
"""`ledger init` for a subprocess (what `ledger.cli.main.main` does once `init` is wired in)."""


@pytest.fixture(autouse=True)
def _pre_commit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))


def _init(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ledger")
    register(parser.add_subparsers())
    args = parser.parse_args(["init", *argv])
    try:
        with error_handler():
            return int(args.func(args))
    except Exit as e:
        return e.code


def _state(root: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtimes of everything `ledger init` may write."""
    paths = [root / ".pre-commit-config.yaml", root / ".git" / "config"]
    paths += [root / ".git" / "hooks" / t for t in STAGES]
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def _validate_config(root: Path) -> None:
    proc = subprocess.run(
        [PRE_COMMIT, "validate-config", ".pre-commit-config.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_init_sets_up_a_repo_without_a_config(tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert _init() == 0

    out = capsys.readouterr().out
    root = tmp_repo.root
    assert (root / ".git" / "ledger" / "ledger.db").exists()
    assert tmp_repo.git("config", "ledger.python") == sys.executable
    assert (root / ".pre-commit-config.yaml").exists()
    _validate_config(root)
    for stage in STAGES:
        hook = root / ".git" / "hooks" / stage
        assert is_ours(hook), stage
        assert f"hook_type={stage}\n" in hook.read_text()
        assert os.access(hook, os.X_OK)
    assert "created the ledger" in out
    assert f"installed git hooks: {', '.join(STAGES)}" in out


def test_init_merges_into_an_existing_config_without_reformatting(tmp_repo: TmpRepo) -> None:
    config = tmp_repo.root / ".pre-commit-config.yaml"
    config.write_text(EXISTING_CONFIG)

    assert _init() == 0

    merged = config.read_text()
    ops = difflib.SequenceMatcher(
        None, EXISTING_CONFIG.splitlines(), merged.splitlines(), autojunk=False
    ).get_opcodes()
    assert [tag for tag, *_ in ops if tag != "equal"] == ["insert", "insert"], ops
    assert "\n    -   repo: local\n        hooks:\n            -   id: ledger-post-commit\n" in merged
    assert merged.endswith("# end of the file\n")
    _validate_config(tmp_repo.root)


def test_second_init_changes_nothing(tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_repo.root / ".pre-commit-config.yaml").write_text(EXISTING_CONFIG)
    assert _init() == 0
    before = _state(tmp_repo.root)
    capsys.readouterr()

    assert _init() == 0

    assert _state(tmp_repo.root) == before
    assert "already set up" in capsys.readouterr().out


def test_check_lists_what_is_missing_then_reports_all_set(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _init("--check") == 1
    before = capsys.readouterr().out.splitlines()
    assert not (tmp_repo.root / ".pre-commit-config.yaml").exists()
    assert all(line.startswith("missing") for line in before[:-1]), before
    for stage in STAGES:
        assert any(f"git hook {stage}" in line for line in before)
    assert any("git config ledger.hookscript" in line for line in before)
    for hook in (h for h in HOOKS if h.default):
        assert any(f"hook {hook.id}" in line for line in before)

    assert _init() == 0
    capsys.readouterr()

    assert _init("--check") == 0
    after = capsys.readouterr().out.splitlines()
    assert all(line.startswith("ok") for line in after[:-1]), after
    assert after[-1] == "all set"
    assert len(after) == len(before)


def test_check_and_init_repair_a_removed_hook(tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert _init() == 0
    (tmp_repo.root / ".git" / "hooks" / "post-rewrite").unlink()
    capsys.readouterr()

    assert _init("--check") == 1
    missing = [line for line in capsys.readouterr().out.splitlines() if line.startswith("missing")]
    assert len(missing) == 1
    assert "git hook post-rewrite" in missing[0]

    assert _init() == 0
    assert capsys.readouterr().out.strip() == "installed git hooks: post-rewrite"
    assert is_ours(tmp_repo.root / ".git" / "hooks" / "post-rewrite")


def test_core_hooks_path_is_refused_in_one_line(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_repo.git("config", "core.hooksPath", ".husky")

    assert _init() == 1

    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "core.hooksPath" in lines[0]
    assert "git config --unset-all core.hooksPath" in lines[0]
    assert "Traceback" not in captured.err
    assert not (tmp_repo.root / ".pre-commit-config.yaml").exists()  # refused before changing anything


def test_global_core_hooks_path_names_the_global_fix(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "config", "--global", "core.hooksPath", "/tmp/global-hooks"], check=True)

    assert _init() == 1

    assert "git config --global --unset-all core.hooksPath" in capsys.readouterr().err


def test_init_from_a_subdirectory_sets_up_the_repository_root(
    tmp_repo: TmpRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_repo.root / "src" / "pkg").mkdir(parents=True)
    monkeypatch.chdir(tmp_repo.root / "src" / "pkg")

    assert _init() == 0

    assert (tmp_repo.root / ".pre-commit-config.yaml").exists()
    assert not (tmp_repo.root / "src" / "pkg" / ".pre-commit-config.yaml").exists()
    assert is_ours(tmp_repo.root / ".git" / "hooks" / "post-commit")


def test_own_hook_is_kept_and_still_runs(tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_repo.root / ".git" / "hooks" / "post-commit"
    mine.parent.mkdir(exist_ok=True)
    mine.write_text("#!/bin/sh\necho mine >> own-hook.log\n")
    mine.chmod(0o755)

    assert _init() == 0
    tmp_repo.commit("first")

    assert (mine.parent / "post-commit.before-ledger").read_text() == "#!/bin/sh\necho mine >> own-hook.log\n"
    assert not (mine.parent / "post-commit.legacy").exists()  # where pre-commit would overwrite it
    assert is_ours(mine)
    assert "kept your own post-commit hook" in capsys.readouterr().out
    assert (tmp_repo.root / "own-hook.log").read_text() == "mine\n"


def test_stages_selects_the_hooks(tmp_repo: TmpRepo) -> None:
    assert _init("--stages", "post-commit") == 0

    config = (tmp_repo.root / ".pre-commit-config.yaml").read_text()
    assert "ledger-post-commit" in config
    assert "ledger-post-rewrite" not in config
    hooks = tmp_repo.root / ".git" / "hooks"
    assert is_ours(hooks / "post-commit")
    assert not (hooks / "post-rewrite").exists()


def test_no_install_writes_the_config_only(tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert _init("--no-install") == 0

    assert (tmp_repo.root / ".pre-commit-config.yaml").exists()
    assert not any((tmp_repo.root / ".git" / "hooks" / t).exists() for t in STAGES)
    assert "ledger init --stages post-commit,prepare-commit-msg,post-rewrite" in capsys.readouterr().out


def test_init_outside_a_repository_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert _init() == 1

    assert "not a git repository" in capsys.readouterr().err


def test_missing_pre_commit_is_one_line(tmp_repo: TmpRepo, tmp_path: Path) -> None:
    """A virtualenv whose bin/ has no pre-commit, and a PATH without one either."""
    path = os.pathsep.join(dict.fromkeys(str(Path(shutil.which(t) or "/").parent) for t in ("git", "sh")))
    if shutil.which("pre-commit", path=path):
        pytest.skip(f"pre-commit is installed system-wide ({path})")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # The test environment's packages (exp-ledger and its dependencies) without its bin/.
    (site_packages / "test-env.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n"
    )

    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", RUN_INIT],
        cwd=tmp_repo.root,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
        check=False,
    )

    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert "pip install pre-commit" in lines[0]
    assert not (tmp_repo.root / ".pre-commit-config.yaml").exists()
