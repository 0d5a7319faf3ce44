"""`ledger run -- CMD`: capture before, run the command as a child, capture after.

The child gets argv, never a shell string; it sees `LEDGER_RUN_ID` (and the ledger's
URL) so the Python API inside it logs into this run. Ctrl-C reaches the child
through the terminal; the wrapper outlives it to record how it ended.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

from ledger import spool
from ledger.logcapture import LogCapture, compress_log
from ledger.procinfo import HEARTBEAT_EVERY

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

    from ledger.capture import StartedRun


def run_command(argv: Sequence[str], *, name: str | None, tags: Sequence[str]) -> int:
    """Run `argv` as a recorded run; returns the exit code to exit with (the child's)."""
    # SQLAlchemy and the models take a few hundred milliseconds to import; load them
    # while the snapshot and the other captures wait on git (the GIL is free then).
    threading.Thread(target=_warm_imports, daemon=True).start()
    from ledger.capture import start_recorded_run

    seeds: dict[str, object] = {}
    child_env = dict(os.environ)
    if "PYTHONHASHSEED" not in child_env:
        # Pin hash randomisation so the run can be repeated with the same seed.
        child_env["PYTHONHASHSEED"] = str(secrets.randbelow(2**32))
    seeds["PYTHONHASHSEED"] = child_env["PYTHONHASHSEED"]
    started = start_recorded_run(argv=argv, name=name, tags=tags, source="run", seeds=seeds)
    from ledger.queries import short_id

    short = short_id(started.store, started.run_id)
    _say(f"run {short} started: {shlex.join(argv)}")
    for line in started.before.errors:
        _say(f"warning: {line}")
    child_env.update(
        LEDGER_RUN_ID=started.run_id,
        LEDGER_URL=started.workspace.url,
        PYTHONUNBUFFERED="1",
    )
    folder = spool.run_dir(started.workspace.spool_dir, started.run_id)
    folder.mkdir(parents=True, exist_ok=True)
    capture = LogCapture(max_bytes=started.workspace.config.log_max_bytes, spool_path=folder / spool.LOG_NAME)
    status, code, peak = _supervise(argv, child_env, capture, started)
    return _finish(started, capture, status=status, code=code, peak_rss=peak)


def _supervise(
    argv: Sequence[str], env: dict[str, str], capture: LogCapture, started: StartedRun
) -> tuple[str, int, int | None]:
    """Run the child to its end; returns (status, exit code, peak RSS in bytes)."""
    try:
        proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError as e:
        message = f"cannot start {argv[0]!r}: {e.strerror or e}"
        capture.add(f"exp-ledger: {message}\n".encode())
        _say(message)
        return "failed", 127 if isinstance(e, FileNotFoundError) else 126, None
    assert proc.stdout is not None  # noqa: S101 - PIPE was asked for
    assert proc.stderr is not None  # noqa: S101
    capture.pump(os.dup(proc.stdout.fileno()), sys.stdout.buffer)
    capture.pump(os.dup(proc.stderr.fileno()), sys.stderr.buffer)
    proc.stdout.close()
    proc.stderr.close()
    received: list[int] = []

    def _note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)  # Ctrl-C: the terminal already sent it to the child too

    def _forward(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        proc.send_signal(signum)

    previous = {
        signal.SIGINT: signal.signal(signal.SIGINT, _note),
        signal.SIGTERM: signal.signal(signal.SIGTERM, _forward),
        signal.SIGHUP: signal.signal(signal.SIGHUP, _forward),
    }
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(started, stop), daemon=True)
    beat.start()
    try:
        _, wait_status, usage = os.wait4(proc.pid, 0)
    finally:
        stop.set()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    proc.returncode = os.waitstatus_to_exitcode(wait_status)
    peak = usage.ru_maxrss * 1024 if sys.platform != "darwin" else usage.ru_maxrss
    code = proc.returncode
    if code == 0:
        return "finished", 0, peak
    if code < 0:
        killer = -code
        interrupted = killer in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) or received
        return ("interrupted" if interrupted else "crashed"), 128 + killer, peak
    if code == 130 or received:  # the child handled the signal and exited on its own
        return "interrupted", code, peak
    return "failed", code, peak


def _finish(started: StartedRun, capture: LogCapture, *, status: str, code: int, peak_rss: int | None) -> int:
    from ledger.capture import finish_recorded_run

    kept, total, truncated = capture.finish()
    after = finish_recorded_run(
        started,
        status=status,
        exit_code=code,
        peak_rss=peak_rss,
        log=(compress_log(kept), total, truncated),
    )
    for line in after.errors:
        _say(f"warning: {line}")
    elapsed = time.time() - started.started_at
    # A queued run's ledger server is gone: its ID is not asked of it.
    from ledger.queries import short_id

    short = started.run_id[:12] if after.queued else short_id(started.store, started.run_id)
    where = "; queued in the local outbox until `ledger sync`" if after.queued else ""
    _say(f"run {short} {status} in {elapsed:.1f}s (exit {code}){where}")
    started.store.close()
    return code


def _warm_imports() -> None:
    import ledger.queries
    import ledger.recorder  # noqa: F401 - imported for its side effect: loaded once, early


def _heartbeat(started: StartedRun, stop: threading.Event) -> None:
    from ledger import recorder

    while not stop.wait(HEARTBEAT_EVERY):
        # A missed heartbeat only delays crash detection on other hosts.
        with contextlib.suppress(Exception):
            recorder.heartbeat(started.store, started.run_id)


def _say(message: str) -> None:
    print(f"ledger: {message}", file=sys.stderr, flush=True)
