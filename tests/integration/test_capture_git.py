"""ledger.git.snapshot against real git: the file lists and snapshots capture builds a record from."""

from __future__ import annotations

import os
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from ledger.capture.data import DVC_FILES
from ledger.core.errors import NotAGitRepoError
from ledger.git import snapshot as git

if TYPE_CHECKING:
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration


def _dvc_files(root: Path) -> tuple[list[str], list[str]]:
    """The DVC files as capture lists them (status + index), and as `git ls-files` does."""
    with git.open_repo(root) as repo:
        tree = git.read_worktree(repo)
        return git.list_files(repo, *DVC_FILES, untracked=tree.untracked), git.list_files(repo, *DVC_FILES)


def _settle_index(root: Path) -> None:
    """An index last written a minute ago, as between a user's commands."""
    index = root / ".git" / "index"
    os.utime(index, (time.time() - 60, time.time() - 60))


def test_dvc_files_from_status_and_index_are_git_s_own_list(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({
        ".gitignore": "cache/\n*.tmp.dvc\n",
        "data.dvc": "outs: []\n",
        "dvc.yaml": "stages: {}\n",
        "dvc.lock": "schema: '2.0'\n",
        "models/best.dvc": "outs: []\n",
        "pipelines/a/dvc.yaml": "stages: {}\n",
        "pipelines/a/deeper/dvc.lock": "schema: '2.0'\n",
        "old.dvc": "outs: []\n",
        "notes/dvc.yaml.bak": "no\n",
        "dvc.lockfile": "no\n",
        "train.py": "print()\n",
    })  # fmt: skip
    tmp_repo.commit()
    (tmp_repo.root / "old.dvc").unlink()  # deleted, not staged: still in the index
    tmp_repo.gen({
        "new.dvc": "outs: []\n",  # untracked
        "sub/dvc.yaml": "stages: {}\n",  # untracked, in an untracked folder
        "staged.dvc": "outs: []\n",
        "cache/ignored.dvc": "outs: []\n",  # ignored
        "scratch.tmp.dvc": "outs: []\n",  # ignored
    })  # fmt: skip
    tmp_repo.git("add", "staged.dvc")

    from_status, from_git = _dvc_files(tmp_repo.root)

    assert (
        from_status
        == from_git
        == [
            "data.dvc",
            "dvc.lock",
            "dvc.yaml",
            "models/best.dvc",
            "new.dvc",
            "old.dvc",
            "pipelines/a/deeper/dvc.lock",
            "pipelines/a/dvc.yaml",
            "staged.dvc",
            "sub/dvc.yaml",
        ]
    )


def test_a_file_removed_from_the_index_leaves_the_list(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"a.dvc": "outs: []\n", "b.dvc": "outs: []\n"})
    tmp_repo.commit()
    _settle_index(tmp_repo.root)
    assert _dvc_files(tmp_repo.root)[0] == ["a.dvc", "b.dvc"]  # listed, and kept for reuse

    tmp_repo.git("rm", "-q", "a.dvc")

    assert _dvc_files(tmp_repo.root) == (["b.dvc"], ["b.dvc"])


def test_a_linked_worktree_lists_its_own_index(tmp_repo: TmpRepo, tmp_path: Path) -> None:
    tmp_repo.gen({"a.dvc": "outs: []\n", "b.dvc": "outs: []\n"})
    tmp_repo.commit()
    linked = tmp_path / "linked"
    tmp_repo.git("worktree", "add", "-q", "-b", "other", str(linked))
    subprocess.run(["git", "rm", "-q", "a.dvc"], cwd=linked, check=True)
    _settle_index(tmp_repo.root)

    assert _dvc_files(tmp_repo.root)[0] == ["a.dvc", "b.dvc"]
    assert _dvc_files(linked)[0] == ["b.dvc"]
    assert _dvc_files(tmp_repo.root)[0] == ["a.dvc", "b.dvc"]


def test_a_clean_snapshot_is_head_and_its_tree_follows_new_commits(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "v1\n"})
    first = tmp_repo.commit()
    snaps = []
    for n in range(2):
        if n:
            tmp_repo.gen({"train.py": "v2\n"})
            tmp_repo.commit()
        with git.open_repo(tmp_repo.root) as repo:
            tree = git.read_worktree(repo)
            snaps.append(
                git.make_snapshot(
                    repo, tree, ref=f"refs/test/{n}", deny=(), max_file_bytes=10**6, max_total_bytes=10**7
                )
            )

    assert snaps[0].commit == first
    assert [s.tree for s in snaps] == [tmp_repo.git("rev-parse", f"{c}^{{tree}}") for c in (first, "HEAD")]
    assert not any(s.dirty for s in snaps)


def test_a_file_name_that_is_not_utf8_is_snapshotted_as_it_is(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "print()\n"})
    tmp_repo.commit()
    name = b"caf\xe9.py"  # Latin-1, as an old editor on an old system saved it
    (tmp_repo.root / os.fsdecode(name)).write_bytes(b"x = 1\n")

    with git.open_repo(tmp_repo.root) as repo:
        tree = git.read_worktree(repo)
        snap = git.make_snapshot(
            repo, tree, ref="refs/test/latin1", deny=(), max_file_bytes=10**6, max_total_bytes=10**7
        )

    listed = subprocess.run(
        ["git", "ls-tree", "-z", "--name-only", snap.commit],
        cwd=tmp_repo.root,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    assert name in listed
    assert snap.dirty


def test_outside_a_repository_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotAGitRepoError, match="not a git repository"), git.open_repo(tmp_path):
        pass
