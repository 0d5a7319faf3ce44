"""Reproduce a run from the UI: show the plan and the exact command, run it, show the verdict.

`ledger reproduce` runs as a child process with its output piped here: it starts
the training command under `ledger run`, whose output would otherwise be written
straight onto the terminal the UI is drawing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, ProgressBar, Static
from textual.worker import get_current_worker

from ledger.core.verdict import DID_NOT_MATCH, EXIT_CODES, INCONCLUSIVE, MATCHED
from ledger.tui.widgets.text_view import TextView

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from textual.app import ComposeResult

    from ledger.core.ids import RunId

STEP_RE = re.compile(r"\[(\d+)/(\d+)\]")
"""`ledger reproduce` prints `[n/5] step: ...` as it goes."""
PLAN_TIMEOUT = 120.0
FLUSH_EVERY = 0.05
"""Seconds of output gathered before it is shown (a chatty training stays cheap)."""


@dataclass
class PlanReady(Message):
    """The dry run finished: its output, and whether the plan can be carried out."""

    text: str
    ok: bool


@dataclass
class OutputArrived(Message):
    """Lines the reproduction printed."""

    lines: list[str]


@dataclass
class Finished(Message):
    """The reproduction exited with `code` (`ledger.core.verdict.EXIT_CODES`)."""

    code: int


class ReproduceScreen(ModalScreen[None]):
    """Plan → confirm → run with progress → verdict."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close / stop")]

    def __init__(self, run_id: RunId, *, runs_changed: Callable[[], None]) -> None:
        super().__init__()
        self.run_id = run_id
        self.runs_changed = runs_changed
        """Called when the reproduction has recorded its run: the screens showing runs reload."""
        self.argv = [sys.executable, "-m", "ledger.reproduce.command", run_id]
        self.state = "planning"
        self._process: subprocess.Popen[str] | None = None

    def compose(self) -> ComposeResult:
        """Command, plan/output, progress, verdict, buttons."""
        with Vertical(id="dialog", classes="-wide -tall"):
            yield Static(f"Reproduce run {self.run_id[:12]}", id="dialog-title", markup=False)
            yield Static(f"command: {shlex.join(self.argv)}", id="repro-command", markup=False)
            yield TextView(placeholder="search the output", id="repro-output")
            yield ProgressBar(total=5, show_eta=False, id="repro-progress")
            yield Static(
                "working out the plan (ledger reproduce --dry-run)…", id="repro-verdict", markup=False
            )
            with Horizontal(id="dialog-buttons"):
                yield Button("Run it", id="run", variant="primary", disabled=True)
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        """Ask `ledger reproduce --dry-run` for the plan."""
        self._plan()

    @property
    def _root(self) -> Path | None:
        services = getattr(self.app, "services", None)
        return None if services is None else services.root

    @work(thread=True, exclusive=True, group="plan", exit_on_error=False)
    def _plan(self) -> None:
        try:
            proc = subprocess.run(
                [*self.argv, "--dry-run"],
                cwd=self._root,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=PLAN_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            self.post_message(PlanReady(f"cannot make the plan: {e}", ok=False))
            return
        self.post_message(PlanReady((proc.stdout + proc.stderr).rstrip(), ok=proc.returncode == 0))

    def on_plan_ready(self, message: PlanReady) -> None:
        """Show the plan; only a good plan can be run."""
        self.query_one(TextView).set_text(message.text, status="the plan (nothing has run yet)")
        verdict = self.query_one("#repro-verdict", Static)
        if message.ok:
            self.state = "confirm"
            verdict.update("Run it? This checks out the snapshot in a new worktree and re-runs the command.")
            button = self.query_one("#run", Button)
            button.disabled = False
            button.focus()
        else:
            self.state = "refused"
            verdict.update("This run cannot be reproduced as it stands (the plan says why).")
            self.set_class(True, "-bad")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Run, or close."""
        if event.button.id == "run" and self.state == "confirm":
            self.state = "running"
            event.button.disabled = True
            self.query_one(TextView).set_text("", status="output of ledger reproduce")
            self.query_one("#repro-verdict", Static).update("running…")
            self._execute()
        elif event.button.id == "close":
            self.action_close()

    @work(thread=True, exclusive=True, group="reproduce", exit_on_error=False)
    def _execute(self) -> None:
        worker = get_current_worker()
        try:
            self._process = proc = subprocess.Popen(
                self.argv,
                cwd=self._root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
                start_new_session=True,  # its own process group: stop() signals all of it
            )
        except OSError as e:
            self.post_message(OutputArrived([f"cannot start: {e}"]))
            self.post_message(Finished(127))
            return
        batch: list[str] = []
        last = time.monotonic()
        assert proc.stdout is not None  # noqa: S101 - stdout=PIPE above
        for line in proc.stdout:
            batch.append(line.rstrip("\n"))
            if time.monotonic() - last > FLUSH_EVERY:
                self.post_message(OutputArrived(batch))
                batch, last = [], time.monotonic()
        if batch:
            self.post_message(OutputArrived(batch))
        proc.stdout.close()
        code = proc.wait()
        if not worker.is_cancelled:
            self.post_message(Finished(code))

    def on_output_arrived(self, message: OutputArrived) -> None:
        """Show output; `[n/5]` lines move the progress bar."""
        self.query_one(TextView).append_lines(message.lines)
        for line in message.lines:
            if step := STEP_RE.search(line):
                self.query_one(ProgressBar).update(progress=int(step[1]), total=int(step[2]))

    def on_finished(self, message: Finished) -> None:
        """The verdict."""
        self.state = "done"
        self._process = None
        verdict = self.query_one("#repro-verdict", Static)
        words = {
            EXIT_CODES[MATCHED]: "reproduced: it matched, on the evidence in the tables above",
            EXIT_CODES[DID_NOT_MATCH]: "NOT reproduced: see the verdict above",
            EXIT_CODES[INCONCLUSIVE]: "inconclusive: no metric and no output file to compare",
            130: "stopped: the reproduction was interrupted",
        }
        verdict.update(words.get(message.code, f"could not run (exit {message.code}): see the error above"))
        self.set_class(True, "-good" if message.code == EXIT_CODES[MATCHED] else "-bad")
        if message.code == EXIT_CODES[MATCHED]:
            self.query_one(ProgressBar).update(progress=5, total=5)
        self.query_one("#close", Button).focus()
        self.runs_changed()

    def action_close(self) -> None:
        """Close; while running, the first press stops the reproduction."""
        proc = self._process
        if self.state == "running" and proc is not None and proc.poll() is None:
            # Like Ctrl-C in a terminal: `ledger run` records the run as interrupted.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            self.query_one("#repro-verdict", Static).update("stopping…")
            return
        self.dismiss()
