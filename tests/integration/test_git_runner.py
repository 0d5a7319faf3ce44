"""The one git runner: with `scrub`, git works on the repository of its folder even inside
a hook whose GIT_* variables name another; without, it sees what the hook's caller set."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.core.errors import GitError
from ledger.git import batch, worktree
from ledger.git.command import GIT_LOCATION_VARS, git, git_bytes, run, scrubbed_env
from ledger.git.refs import snapshot_ref
from tests.repo import TmpRepo

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

HOOK_SH = Path(__file__).resolve().parents[2] / "hooks" / "hook.sh"


def _repo(path: Path, files: dict[str, str | bytes]) -> TmpRepo:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    repo = TmpRepo(path)
    repo.gen(files)
    repo.commit("first")
    return repo


@pytest.fixture
def repos(tmp_path: Path) -> tuple[TmpRepo, TmpRepo]:
    """`intended`, the repository a command is about, and `other`, the one a hook runs in."""
    intended = _repo(tmp_path / "intended", {"mine.txt": "mine\n"})
    return intended, _repo(tmp_path / "other", {"theirs.txt": "x\n"})


@contextlib.contextmanager
def in_hook_of(repo: TmpRepo) -> Iterator[None]:
    """This process's environment as git sets it for a hook of `repo` (a push's quarantine
    included): every location variable names `repo`."""
    with pytest.MonkeyPatch.context() as m:
        for name, value in _location(repo).items():
            m.setenv(name, value)
        yield


def _location(repo: TmpRepo) -> dict[str, str]:
    git_dir = repo.root / ".git"
    return {
        "GIT_DIR": str(git_dir),
        "GIT_WORK_TREE": str(repo.root),
        "GIT_INDEX_FILE": str(git_dir / "index"),
        "GIT_COMMON_DIR": str(git_dir),
        "GIT_OBJECT_DIRECTORY": str(git_dir / "objects"),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(git_dir / "objects"),
        "GIT_PREFIX": "",
        "GIT_NAMESPACE": "hooked",
    }


def test_scrubbed_git_reads_the_repository_of_its_folder(repos: tuple[TmpRepo, TmpRepo]) -> None:
    intended, other = repos
    head, other_head = intended.git("rev-parse", "HEAD"), other.git("rev-parse", "HEAD")

    with in_hook_of(other):
        assert git("rev-parse", "HEAD", cwd=intended.root, scrub=True).strip() == head
        top = git("rev-parse", "--show-toplevel", cwd=intended.root, scrub=True).strip()
        files = worktree.tree_files(intended.root, head)
        with batch.CatFile(intended.root) as cat:
            (found,) = cat.read([f"{head}:mine.txt"])
        # What must not happen, and what an unscrubbed git (a hook's own question) does:
        # answer about the hook's repository.
        unscrubbed_head = git("rev-parse", "HEAD", cwd=intended.root).strip()
        unscrubbed_has = run("cat-file", "-e", head, text=True, cwd=intended.root).returncode == 0

    assert top == str(intended.root)
    assert files.keys() == {"mine.txt"}
    assert found is not None
    assert found.data == b"mine\n"
    assert head != other_head
    assert unscrubbed_head == other_head
    assert not unscrubbed_has


def test_scrubbed_git_writes_refs_and_index_of_its_folder_only(repos: tuple[TmpRepo, TmpRepo]) -> None:
    intended, other = repos
    head = intended.git("rev-parse", "HEAD")
    intended.gen({"new.txt": "new\n"})

    with in_hook_of(other):
        batch.create_refs(intended.root, [(snapshot_ref("r1"), head)])
        git("add", "new.txt", cwd=intended.root, scrub=True)

    assert intended.git("rev-parse", snapshot_ref("r1")) == head
    assert intended.git("diff", "--cached", "--name-only") == "new.txt"
    assert other.git("for-each-ref", "refs/") == other.git("for-each-ref", "refs/heads/")
    assert other.git("diff", "--cached", "--name-only") == ""


def test_unscrubbed_git_sees_the_index_its_caller_set(
    tmp_repo: TmpRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a pre-commit hook relies on: git run for it reads the commit's own index."""
    tmp_repo.gen({"a.txt": "a\n"})
    tmp_repo.commit()
    tmp_repo.gen({"staged.txt": "s\n"})
    index = {"GIT_INDEX_FILE": str(tmp_path / "commit-index")}
    git("read-tree", "HEAD", cwd=tmp_repo.root, env=index)
    git("update-index", "--add", "staged.txt", cwd=tmp_repo.root, env=index)

    assert git("diff", "--cached", "--name-only", cwd=tmp_repo.root, env=index).split() == ["staged.txt"]
    assert git("diff", "--cached", "--name-only", cwd=tmp_repo.root).split() == []
    monkeypatch.setenv("GIT_INDEX_FILE", index["GIT_INDEX_FILE"])
    assert git("diff", "--cached", "--name-only", cwd=tmp_repo.root).split() == ["staged.txt"]
    assert git("diff", "--cached", "--name-only", cwd=tmp_repo.root, scrub=True).split() == []


def test_scrub_drops_the_location_variables_and_nothing_else(tmp_repo: TmpRepo) -> None:
    with in_hook_of(tmp_repo):
        env = scrubbed_env({"EXTRA": "1"})
        assert set(GIT_LOCATION_VARS) <= os.environ.keys()

    assert not set(GIT_LOCATION_VARS) & env.keys()
    assert env["EXTRA"] == "1"
    assert env["GIT_AUTHOR_NAME"] == "Test Author"  # identity and config are not locations
    assert env["GIT_CONFIG_GLOBAL"] == os.environ["GIT_CONFIG_GLOBAL"]
    assert {k: v for k, v in os.environ.items() if k not in GIT_LOCATION_VARS} == {
        k: v for k, v in env.items() if k != "EXTRA"
    }


def test_failures_name_the_subcommand_and_carry_stderr(tmp_repo: TmpRepo) -> None:
    with pytest.raises(GitError, match=r"^git rev-parse failed \(128\): fatal: Needed a single revision$"):
        git("--no-optional-locks", "rev-parse", "--verify", "no-such-rev", cwd=tmp_repo.root)
    with pytest.raises(GitError, match=r"^git cat-file failed \(128\): fatal: "):
        git_bytes("cat-file", "blob", "no-such-rev", cwd=tmp_repo.root, scrub=True)

    assert git("rev-parse", "--verify", "--quiet", "no-such-rev", cwd=tmp_repo.root, check=False) == ""
    assert git_bytes("cat-file", "--batch", cwd=tmp_repo.root, stdin=b"nope\n") == b"nope missing\n"


def test_the_shell_hook_starts_the_ingester_without_location_variables(
    tmp_repo: TmpRepo, tmp_path: Path
) -> None:
    """hooks/hook.sh's post-commit, run as git runs it: the ingester it starts sees none
    of the location variables its environment held."""
    tmp_repo.gen({"a.txt": "a\n"})
    tmp_repo.commit()
    seen = tmp_path / "ingester-env"
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\nenv > "{seen}.tmp" && mv "{seen}.tmp" "{seen}"\n')
    fake.chmod(0o755)
    tmp_repo.git("config", "ledger.python", str(fake))
    hook_env = _location(tmp_repo)
    assert hook_env.keys() == set(GIT_LOCATION_VARS)

    proc = subprocess.run(
        ["sh", str(HOOK_SH), "post-commit"],
        cwd=tmp_repo.root,
        env={**os.environ, **hook_env},
        capture_output=True,
        text=True,
        check=False,
    )

    assert proc.returncode == 0, proc.stderr
    deadline = time.monotonic() + 30
    while not seen.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    names = {line.partition("=")[0] for line in seen.read_text().splitlines()}
    assert not names & set(GIT_LOCATION_VARS)
    assert "GIT_AUTHOR_NAME" in names  # the rest of the environment passes through
    assert list((tmp_repo.root / ".git" / "ledger" / "inbox").glob("*.commit"))  # the hook did its work
