"""One real repository for the tests of a module that only read what its runs left.

A training that imports Lightning or torch costs seconds of CPU in each process: tests
that each check another side of the same runs read one set of them, made by a
module-scoped fixture. Such a fixture is set up before any test's own fixtures, so
`isolated_env` (tests/conftest.py) has not run yet: the repository gets the same
isolation here, for as long as the module's tests use it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.repo import TmpRepo

if TYPE_CHECKING:
    from collections.abc import Iterator

BIN = Path(sys.executable).parent


@contextlib.contextmanager
def shared_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TmpRepo]:
    """An empty git repository (no commits) as the working directory, in the environment
    `isolated_env` gives a test, both undone when the block ends."""
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("shared-home")
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
        root = tmp_path_factory.mktemp("shared") / "repo"
        root.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
        mp.chdir(root)
        yield TmpRepo(root)
