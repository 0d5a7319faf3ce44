"""Projects built once and shared (DVC's template trick): the tests that only read one
read the same copy, the tests that change one change a copy of their own (`own_copy`).

Building a project means `git`, `dvc` and pre-commit commands, pipelines and `ledger run`s,
each a process of its own; most tests then ask one question of what those left. A build
shared by a module's tests is made once in each xdist worker that runs one of them:
session-scoped, so that a worker taking the module's tests between other modules'
does not build it again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import wait_until
from tests.repo import TmpRepo

if TYPE_CHECKING:
    from collections.abc import Iterator

BIN = Path(sys.executable).parent
"""The test environment's programs (`ledger`, `dvc`, `pre-commit`), first on PATH."""


@dataclass(frozen=True)
class ShownRun:
    """A project built once and the run that built it, as `ledger show --json` gave it."""

    repo: TmpRepo
    shown: dict[str, Any]


LEDGER_FILES = ("ledger.db", "ledger.db-wal", "ledger.db-shm")
"""The SQLite ledger in `.git/ledger/`: copied through SQLite, not as files."""


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """What conftest's `isolated_env` sets for each test, for a build wider than a test
    too (made before the test's own `isolated_env`)."""
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("")
    for name in list(os.environ):
        if name.startswith(("LEDGER_", "GIT_", "PRE_COMMIT")):
            mp.delenv(name)
    mp.setenv("HOME", str(home))
    mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    mp.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    mp.setenv("XDG_STATE_HOME", str(home / ".state"))
    mp.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GIT_AUTHOR_NAME", "Test Author")
    mp.setenv("GIT_AUTHOR_EMAIL", "author@example.com")
    mp.setenv("GIT_COMMITTER_NAME", "Test Committer")
    mp.setenv("GIT_COMMITTER_EMAIL", "committer@example.com")
    mp.setenv("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
    mp.setenv("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
    mp.setenv("DVC_NO_ANALYTICS", "1")
    mp.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@contextlib.contextmanager
def building(factory: pytest.TempPathFactory, name: str, template: Path | None = None) -> Iterator[TmpRepo]:
    """A new repository to build a shared project in, as the working directory, in the
    environment a test has, for the time of the build: a copy of `template` (a project
    built before), else an empty git repository.

    The build's runs are settled when it ends (see `copy_project`).
    """
    base = factory.mktemp(name)
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, base / "home")
        if template is None:
            root = base / "repo"
            root.mkdir()
            repo = TmpRepo(root)
            repo.git("init", "-q", "-b", "main")
        else:
            repo = copy_project(template, base / "repo")
        mp.chdir(repo.root)
        yield repo
    settle(repo)


def settle(repo: TmpRepo) -> None:
    """Wait until nothing of `repo` is still being handed to the ledger.

    A run's detached recorder removes the run's spool folder once the run is in the
    ledger, and the ingester a post-commit hook starts removes the commit's inbox file
    once the commit is; a project is copied after that, never while either still writes.
    """
    ledger_dir = repo.root / ".git" / "ledger"
    spool, inbox = ledger_dir / "spool", ledger_dir / "inbox"
    wait_until(lambda: not spool.is_dir() or not any(spool.iterdir()), "the runs' recording")
    wait_until(lambda: not any(inbox.glob("*.commit")), "the commits' ingest")


def place_file(template: Path, path: Path) -> Path:
    """A copy of the file `template` (a ledger made once) at `path`, its folders made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return path


def copy_project(src: Path, dst: Path) -> TmpRepo:
    """A copy of the repository at `src` (its work tree, git, DVC and ledger) at `dst`.

    The ledger is copied with SQLite's backup, which reads one consistent state: a
    recorder that has just written a run may still be closing its connection, and
    that last close folds the write-ahead log into the file and deletes it.
    """
    settle(TmpRepo(src))
    shutil.copytree(src, dst, symlinks=True, ignore=_ledger_files)
    ledger = src / ".git" / "ledger" / "ledger.db"
    if ledger.exists():
        with (
            contextlib.closing(sqlite3.connect(ledger)) as source,
            contextlib.closing(sqlite3.connect(dst / ".git" / "ledger" / "ledger.db")) as target,
        ):
            source.backup(target)
    return TmpRepo(dst)


def _ledger_files(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if n in LEDGER_FILES] if Path(folder).parts[-2:] == (".git", "ledger") else []
