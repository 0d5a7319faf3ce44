"""What every hook needs to know about the repository, and the fail-open guard.

Imports only the standard library and ledger's light modules: a hook runs on every
commit, and SQLAlchemy, GitPython or DVC would cost hundreds of milliseconds there.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ledger.commits.inbox import record_failure
from ledger.git.command import git, scrubbed_env

if TYPE_CHECKING:
    from collections.abc import Iterator


class HookContext(NamedTuple):
    """The repository a hook runs in."""

    toplevel: Path
    common_dir: Path


def hook_context() -> HookContext:
    """Locate the repository with one `git rev-parse` (git exports GIT_DIR to hooks)."""
    lines = git("rev-parse", "--show-toplevel", "--git-common-dir").splitlines()
    toplevel = Path(lines[0])
    common = Path(lines[1])
    if not common.is_absolute():
        common = (Path.cwd() / common).resolve()
    return HookContext(toplevel=toplevel, common_dir=common)


class Outcome:
    """Filled in by `fail_open`: whether the hook's own work failed."""

    def __init__(self) -> None:
        self.failed = False
        self.code = 0
        """The exit code the hook chose (used by the one stage that may block)."""


@contextlib.contextmanager
def fail_open(hook: str, ctx: list[HookContext]) -> Iterator[Outcome]:
    """Never let the ledger break a commit: one line on stderr, the failure kept for doctor.

    Hooks after the commit (post-commit, post-rewrite) then exit 1: git ignores
    their status, and pre-commit shows the output of failed hooks only.
    """
    outcome = Outcome()
    try:
        yield outcome
    except Exception as e:  # noqa: BLE001 - the hook must not fail the commit, whatever happened
        outcome.failed = True
        message = " ".join(f"{type(e).__name__}: {e}".split())
        print(
            f"exp-ledger: {hook} hook failed: {message} (the commit is fine; see `ledger doctor`)",
            file=sys.stderr,
        )
        record_failure(ctx[0].common_dir if ctx else None, hook, message)


def start_ingester(ctx: HookContext) -> None:
    """Turn the inbox into ledger rows in a detached process the commit does not wait for."""
    subprocess.Popen(
        # Niced: the user's next command goes first (the ingest can wait a moment).
        ["nice", "-n", "10", sys.executable, "-m", "ledger.commits.ingest", str(ctx.toplevel)],
        cwd=ctx.toplevel,
        env=scrubbed_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def hooks_disabled() -> bool:
    """`LEDGER_HOOKS=0` turns every hook into a no-op (for scripted history rewrites)."""
    return os.environ.get("LEDGER_HOOKS", "1") in {"0", "false", "off", "no"}
