"""The one thread through which a training process talks to the ledger database.

Training must never wait on the ledger: a database locked by another writer, a
corrupt or read-only file, a schema from a newer exp-ledger, a value the server
refuses, a server that stopped answering without closing the connection (no
socket timeout ends that wait). So the API's calls only append to the run's spool
and hand database work to this thread, which runs the jobs one at a time. The
first job that fails, and a caller that stops waiting for a job, turn the writer
off for the rest of the process with one warning line: everything stays in the
spool, and the run's end, `ledger doctor --fix` or any command that reads the
ledger delivers it.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ledger.core.errors import LedgerError

if TYPE_CHECKING:
    from collections.abc import Callable

_log = logging.getLogger("ledger")

_warned = threading.Event()


def warn_once(problem: str) -> None:
    """Say on stderr, once per process, that the ledger is left alone from now on."""
    if _warned.is_set():
        return
    _warned.set()
    _log.warning(
        "ledger: warning: %s; training goes on, and what it logs is kept in the spool "
        "(`ledger doctor --fix` records it once the ledger is fine again)",
        problem,
    )


def describe(error: BaseException) -> str:
    """One line naming what went wrong, without a traceback."""
    if isinstance(error, LedgerError):
        return error.message
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class Flusher:
    """A daemon thread that runs `tick` every `interval` seconds and queued jobs at once."""

    def __init__(self, tick: Callable[[], None], *, interval: float, name: str) -> None:
        self._tick = tick
        self._interval = interval
        self._cond = threading.Condition()
        self._jobs: list[tuple[int, Callable[[], None]]] = []
        self._asked = 0
        self._done = 0
        self._stopped = False
        self.failed = False
        """Set by the first failing job or abandoned wait: no database work after it."""
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None] | None = None) -> int:
        """Queue `job` (None: one more tick now); returns a ticket for `wait`."""
        with self._cond:
            self._asked += 1
            self._jobs.append((self._asked, job or self._tick))
            self._cond.notify_all()
            return self._asked

    def wait(self, ticket: int, timeout: float) -> bool:
        """Wait for the job of `ticket`; True if it ran and nothing has failed.

        A job still running after `timeout` is abandoned: the writer is turned off
        (its database is not answering) and the caller goes on.
        """
        with self._cond:
            done = self._cond.wait_for(lambda: self._done >= ticket or self.failed, timeout)
        if not done:
            self.fail(f"the ledger did not answer within {timeout:g} s")
        return done and not self.failed

    def fail(self, problem: str) -> None:
        """Stop database work for good (one warning per process)."""
        with self._cond:
            self.failed = True
            self._cond.notify_all()
        warn_once(problem)

    def stop(self) -> None:
        """End the thread after the job it runs (it is a daemon: exit does not wait for it)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._stopped or bool(self._jobs), self._interval):
                    ticket, job = self._asked, self._tick
                elif self._jobs:
                    ticket, job = self._jobs.pop(0)
                else:
                    return
                if self.failed:
                    self._done = max(self._done, ticket)
                    self._cond.notify_all()
                    if self._stopped:
                        return
                    continue
            try:
                job()
            except Exception as e:  # noqa: BLE001 - a ledger failure must never reach the training
                self.fail(describe(e))
            with self._cond:
                self._done = max(self._done, ticket)
                self._cond.notify_all()
