"""Where the ledger of the current directory lives, and its settings."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.config import Config, load_config
from ledger.core.errors import NotAGitRepoError
from ledger.core.urls import sqlite_file, sqlite_url
from ledger.git.command import GIT_LOCATION_VARS, RepoPaths, find_repo

if TYPE_CHECKING:
    from ledger.store.engine import Store

LEDGER_DIRNAME = "ledger"
"""Folder inside the git common dir: shared by every worktree, never committed."""


@dataclass(frozen=True, slots=True)
class Workspace:
    """The repository (if any), its config, the ledger URL and the local spool folder."""

    repo: RepoPaths | None
    config: Config
    url: str
    spool_dir: Path
    """Crash-safe files a run writes as it goes; ingested if the run dies."""

    @property
    def root(self) -> Path:
        """The work tree's top folder; only for commands that required a repository."""
        return self._repo().toplevel

    @property
    def common_dir(self) -> Path:
        """The git dir every worktree shares; only for commands that required a repository."""
        return self._repo().common_dir

    def _repo(self) -> RepoPaths:
        if self.repo is None:
            raise NotAGitRepoError("not inside a git repository", hint="cd into your project first")
        return self.repo


def locate(cwd: Path | None = None, *, need_repo: bool = False) -> Workspace:
    """Find the ledger for `cwd`: `LEDGER_URL`, else `[tool.ledger] url`, else SQLite in git.

    Raises:
        NotAGitRepoError: when `need_repo` and there is no repository, or when no
            repository and no URL say where the ledger is.
    """
    repo = _find_repo(cwd)
    if repo is None and need_repo:
        raise NotAGitRepoError(
            f"not a git repository: {cwd or Path.cwd()}",
            hint="run this inside a git repository (git init)",
        )
    config = load_config(None if repo is None else repo.toplevel)
    url = os.environ.get("LEDGER_URL") or config.url
    if repo is not None:
        home = repo.common_dir / LEDGER_DIRNAME
    else:
        state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        home = Path(state) / "exp-ledger"
    if not url:
        if repo is None:
            raise NotAGitRepoError(
                "not inside a git repository, and LEDGER_URL is not set",
                hint="cd into your project, or set LEDGER_URL to a ledger database",
            )
        url = sqlite_url(home / "ledger.db")
    return Workspace(repo=repo, config=config, url=url, spool_dir=home / "spool")


_repos: dict[Path, RepoPaths] = {}
"""Folder -> the repository `find_repo` found for it in this process."""


def _find_repo(cwd: Path | None) -> RepoPaths | None:
    """`find_repo`, asked of git once per folder while its answer still holds.

    A sweep locates its workspace for every run it starts. The answer is kept while
    the repository's `.git` exists and no `.git` appeared between the folder and the
    work tree's top (a repository made inside it); git's location variables bypass it.
    """
    if any(os.environ.get(name) for name in (*GIT_LOCATION_VARS, "GIT_CEILING_DIRECTORIES")):
        return find_repo(cwd)
    here = Path.cwd() if cwd is None else cwd.absolute()
    held = _repos.get(here)
    if held is not None and _still_holds(here, held):
        return held
    repo = find_repo(here)
    if repo is not None:
        _repos[here] = repo
    return repo


def _still_holds(here: Path, repo: RepoPaths) -> bool:
    if not (repo.toplevel / ".git").exists() or not repo.common_dir.is_dir():
        return False
    folder = here
    while folder != repo.toplevel:
        if (folder / ".git").exists() or folder.parent == folder:
            return False  # a repository inside, or `here` is not under the top (a symlink)
        folder = folder.parent
    return True


def open_store(ws: Workspace) -> Store:
    """Open the workspace's ledger (SQLAlchemy is imported here, not before)."""
    from ledger.store.engine import connect

    return connect(ws.url)


_shared: dict[str, tuple[tuple[int, object], Store]] = {}
_shared_lock = threading.Lock()


def shared_store(ws: Workspace) -> Store:
    """The workspace's ledger, opened once per process for every run it starts.

    A sweep starts hundreds of runs in one process; opening the ledger (an engine,
    a connection, the schema check) for each would cost more than the run's own
    writes. It is opened again in a forked child, which must not use its parent's
    connections, and when a SQLite file was removed or replaced meanwhile, whose
    old connection would write into the unlinked file.
    """
    pid = os.getpid()
    with _shared_lock:
        held = _shared.get(ws.url)
        if held is not None and held[0] == (pid, _file_identity(ws.url)):
            return held[1]
        store = open_store(ws)
        for old_key, old in _shared.values():
            if old_key[0] == pid:
                old.close()
            else:  # inherited through fork: drop the pool, leave the parent's connections be
                old.engine.dispose(close=False)
        _shared.clear()
        _shared[ws.url] = ((pid, _file_identity(ws.url)), store)
        return store


def forget_shared_store(store: Store) -> None:
    """Stop reusing `store` (it failed); the next `shared_store` opens the ledger anew."""
    with _shared_lock:
        for url, (_, held) in list(_shared.items()):
            if held is store:
                del _shared[url]


def _file_identity(url: str) -> tuple[int, int] | None:
    path = sqlite_file(url)
    if path is None:
        return None
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_dev, info.st_ino)
