"""End to end in a real terminal: `ledger ui` under tmux, driven by keys, read from the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.tui.conftest import repo_ledger

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.tui, pytest.mark.slow]

TMUX = shutil.which("tmux")
COMMAND = [sys.executable, "-m", "ledger", "ui"]
"""`ledger ui` as a user starts it."""


class Terminal:
    """One tmux server of our own (its own socket), one 120x36 window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        assert TMUX is not None
        # -f /dev/null: no tmux.conf of the machine (status bar, default size) gets in.
        # COLUMNS/LINES (pytest-xdist sets 80x24) would override the real window size
        # in the program, which asks shutil.get_terminal_size().
        command = [TMUX, "-L", self.socket, "-f", os.devnull, *args]
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        return subprocess.run(command, capture_output=True, text=True, check=False, env=env)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "ui").stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "ui", *keys)

    def wait_for(self, found: Callable[[str], bool], *, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if found(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"screen ({self.size()}) never matched; last screen:\n{text}")

    def start(self, cwd: Path, command: list[str], env: dict[str, str]) -> None:
        """Run `command` in a 120x36 window.

        The window is made first (holding a pause) and the command respawned into it, so the
        program starts at its final size: a detached tmux window is resized just after its
        first process starts, and a resize that lands before the program's SIGWINCH handler
        is installed would be lost.
        """
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        made = self.tmux(
            "new-session", "-d", "-x", "120", "-y", "36", "-s", "ui", "-c", str(cwd), "sleep 600"
        )
        assert made.returncode == 0, made.stderr
        self.wait_for(lambda _: self.size() == "120x36", timeout=5)
        respawned = self.tmux("respawn-pane", "-k", "-t", "ui", "-c", str(cwd), *env_args, *command)
        assert respawned.returncode == 0, respawned.stderr

    def size(self) -> str:
        return self.tmux("display", "-p", "-t", "ui", "#{window_width}x#{window_height}").stdout.strip()

    def running(self) -> bool:
        return self.tmux("has-session", "-t", "ui").returncode == 0


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    if TMUX is None:
        pytest.skip("tmux is not installed")
    term = Terminal(f"ledger-test-{uuid.uuid4().hex[:8]}")
    yield term
    term.tmux("kill-server")


def test_ledger_ui_in_a_real_terminal(tmp_repo: TmpRepo, terminal: Terminal, seeded_template: Path):
    tmp_repo.gen({"train.py": "print('hi')\n"})
    tmp_repo.commit("first")
    repo_ledger(tmp_repo, seeded_template)
    terminal.start(tmp_repo.root, COMMAND, {"TERM": "xterm-256color", "COLORTERM": "truecolor"})

    first = terminal.wait_for(lambda s: "baseline" in s and "6 runs" in s)
    assert "STATUS" in first
    assert "wider" in first

    # Typed straight behind the `/`, as a fast typist does: every key lands in the filter
    # box, none reaches the table's bindings (`t` would open the tag prompt).
    terminal.keys("/")
    terminal.keys("-l", "tag:best")
    terminal.wait_for(lambda s: "tag:best" in s.split("STATUS", 1)[0])
    terminal.keys("Enter")
    filtered = terminal.wait_for(lambda s: "1 of 1 run" in s)
    assert "wider" in filtered
    assert "baseline" not in filtered.split("STATUS", 1)[1]

    terminal.keys("Enter")
    detail = terminal.wait_for(lambda s: "python train.py --lr 0.005" in s)
    assert "Overview" in detail
    assert "Environment" in detail

    terminal.keys("q")
    deadline = time.monotonic() + 10
    while terminal.running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not terminal.running()


def test_ledger_ui_without_a_ledger_explains_how_to_start(tmp_repo: TmpRepo, terminal: Terminal):
    terminal.start(tmp_repo.root, COMMAND, {"TERM": "xterm-256color"})

    screen = terminal.wait_for(lambda s: "No ledger here yet" in s)

    assert "ledger run -- python train.py" in screen
    assert not (tmp_repo.root / ".git" / "ledger" / "ledger.db").exists()  # looking created nothing
    terminal.keys("q")


def test_outside_a_repository_is_one_clear_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ledger.tui"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)},
        check=False,
        timeout=60,
    )

    assert proc.returncode == 1
    assert proc.stderr.startswith("ledger: error: not inside a git repository")
    assert "Traceback" not in proc.stderr
