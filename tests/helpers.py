"""Run the `ledger` command line (in this process, or as a program) and read the real ledger file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from tests.in_process import run_main

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo


def ledger(
    *args: str,
    cwd: Path | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`ledger ARGS` through `ledger.cli.main.main` in this process, as `python -m ledger` runs it
    (tests/in_process.py); for what only a process of its own shows, `ledger_process`."""
    code, out, err = run_main(args, cwd=cwd, env=env or {})
    return _checked(subprocess.CompletedProcess(["ledger", *args], code, out, err), check=check)


def ledger_process(
    *args: str,
    cwd: Path | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m ledger ARGS` as a user would, capturing output."""
    proc = subprocess.run(
        [sys.executable, "-m", "ledger", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return _checked(proc, check=check)


def _checked(proc: subprocess.CompletedProcess[str], *, check: bool) -> subprocess.CompletedProcess[str]:
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, proc.args))} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def runs_json(*filters: str, cwd: Path | None = None) -> list[dict[str, Any]]:
    """`ledger list --all --json`, parsed."""
    out = ledger("list", "--all", "--json", *filters, cwd=cwd).stdout
    result: list[dict[str, Any]] = json.loads(out)
    return result


def runs_once_listed(cwd: Path | None = None, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The runs listed once there are any: a running run's detached recorder may still be
    importing when its command is already under way (its row "exists, or is about to"), and
    an in-process `ledger list` no longer pays an interpreter's start to give it that time."""
    deadline = time.monotonic() + timeout
    while not (runs := runs_json(cwd=cwd)):
        assert time.monotonic() < deadline, "the run was never listed"
        time.sleep(0.05)
    return runs


def show_json(run: str, cwd: Path | None = None) -> dict[str, Any]:
    """`ledger show RUN --json`, parsed."""
    result: dict[str, Any] = json.loads(ledger("show", run, "--json", cwd=cwd).stdout)
    return result


def log_python_calls(repo: TmpRepo, tmp_path: Path) -> Path:
    """Point the hooks at an interpreter that notes each start, then runs the real one."""
    log = tmp_path / "python-calls.log"
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    repo.git("config", "ledger.python", str(wrapper))
    return log


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """Whether a process of ours is still there (a zombie still is, until reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
