"""Where the ledger of the current directory lives, and its settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.config import Config, load_config
from ledger.errors import NotAGitRepoError
from ledger.gitcmd import RepoPaths, find_repo

if TYPE_CHECKING:
    from ledger.store import Store

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
    repo = find_repo(cwd)
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
        url = f"sqlite:///{home / 'ledger.db'}"
    return Workspace(repo=repo, config=config, url=url, spool_dir=home / "spool")


def open_store(ws: Workspace) -> Store:
    """Open the workspace's ledger (SQLAlchemy is imported here, not before)."""
    from ledger.store import connect

    return connect(ws.url)
