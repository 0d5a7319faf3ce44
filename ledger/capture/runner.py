"""`ledger run -- CMD`: capture before, run the command as a child, capture after.

The child gets argv, never a shell string; it sees `LEDGER_RUN_ID` (and the ledger's
URL) so the Python API inside it logs into this run, and a PYTHONPATH entry through
which its Python processes report the torch and CUDA devices they had (`ledger.capture.runtime`). Ctrl-C reaches the child
through the terminal; the wrapper outlives it to record how it ended.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

from ledger.capture import late_end, orphans, runtime
from ledger.capture.collect import finish_recorded_run, start_recorded_run
from ledger.capture.log_tee import LogCapture, compress_log
from ledger.core.procinfo import HEARTBEAT_EVERY
from ledger.core.redact import known_secrets, redact_text
from ledger.delivery import handover as run_records
from ledger.delivery import spool
from ledger.delivery.flusher import describe
from ledger.store.workspace import locate

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from types import FrameType

    from ledger.capture.collect import StartedRun
    from ledger.core.ids import RunId
    from ledger.store.engine import Store


def run_command(argv: Sequence[str], *, name: str | None, tags: Sequence[str], hand_over: bool = True) -> int:
    """Run `argv` as a recorded run; returns the exit code to exit with (the child's).

    `hand_over` lets a SQLite ledger be written by a detached recorder
    (`ledger.delivery.handover`); a caller that reads the run straight after, in this
    process, writes it here instead.
    """
    ws = locate(need_repo=True)
    hand_over = hand_over and run_records.deferrable(ws.url)
    if not hand_over:
        # SQLAlchemy and the models take a few hundred milliseconds to import; load
        # them while the snapshot and the other captures wait on git (the GIL is free then).
        threading.Thread(target=_warm_imports, daemon=True).start()
    seeds: dict[str, object] = {}
    child_env = dict(os.environ)
    if "PYTHONHASHSEED" not in child_env:
        # Pin hash randomisation so the run can be repeated with the same seed.
        child_env["PYTHONHASHSEED"] = str(secrets.randbelow(2**32))
    seeds["PYTHONHASHSEED"] = child_env["PYTHONHASHSEED"]
    started = start_recorded_run(
        argv=argv, name=name, tags=tags, source="run", seeds=seeds, ws=ws, hand_over=hand_over
    )
    folder = spool.run_dir(started.workspace.spool_dir, started.run_id)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(Exception):  # without it, a killed wrapper's run keeps what its spool holds
        late_end.keep_before(folder, started.workspace.root, started.started_at, started.before)
    # Held open until this process ends: the recorder's signal that the run is over.
    recorder_pipe = run_records.spawn_recorder(folder) if started.store is None else None
    _say(f"run {_short(started)} started: {shlex.join(started.record.argv)}")
    for line in started.before.errors:
        _say(f"warning: {line}")
    child_env.update(
        LEDGER_RUN_ID=started.run_id,
        LEDGER_URL=started.workspace.url,
        PYTHONUNBUFFERED="1",
    )
    child_env.update(runtime.child_env(folder, child_env, root=started.workspace.root))
    capture = LogCapture(max_bytes=started.workspace.config.log_max_bytes, spool_path=folder / spool.LOG_NAME)
    status, code, peak = _supervise(argv, child_env, capture, started, folder)
    known = known_secrets(argv, os.environ)
    code = _finish(started, capture, status=status, code=code, peak_rss=peak, known=known)
    if recorder_pipe is not None:
        os.close(recorder_pipe)
    return code


def _supervise(
    argv: Sequence[str], env: dict[str, str], capture: LogCapture, started: StartedRun, folder: Path
) -> tuple[str, int, int | None]:
    """Run the child to its end; returns (status, exit code, peak RSS in bytes).

    The child is stopped with this process if it is killed (`ledger.capture.orphans`).
    """
    try:
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            preexec_fn=orphans.die_with_parent(),  # two system calls between fork and exec
        )
    except OSError as e:
        message = f"cannot start {argv[0]!r}: {e.strerror or e}"
        capture.add(f"exp-ledger: {message}\n".encode())
        _say(message)
        return "failed", 127 if isinstance(e, FileNotFoundError) else 126, None
    orphans.note_child(folder, proc.pid)
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
    if started.store is not None:  # a handed-over run's recorder beats for it
        threading.Thread(target=_heartbeat, args=(started.store, started.run_id, stop), daemon=True).start()
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


def _finish(
    started: StartedRun,
    capture: LogCapture,
    *,
    status: str,
    code: int,
    peak_rss: int | None,
    known: frozenset[str],
) -> int:
    kept, total, truncated = capture.finish()
    folder = spool.run_dir(started.workspace.spool_dir, started.run_id)
    server = started.store if started.store is not None and not started.store.is_sqlite else None
    try:
        if server is not None:
            # The end goes to the spool first, as a handed-over run's: a server that
            # stopped answering then holds nothing but its own delivery (`_deliver`).
            run_records.write_start(folder, server.url, started.record)
        after = finish_recorded_run(
            started if server is None else dataclasses.replace(started, store=None),
            status=status,
            exit_code=code,
            peak_rss=peak_rss,
            log=(compress_log(kept, known=known), total, truncated),
        )
    except Exception as e:  # noqa: BLE001 - the command's own exit code always wins
        _say(f"warning: the end of run {started.run_id[:12]} could not be recorded: {type(e).__name__}: {e}")
        _say(f"run {started.run_id[:12]} {status} (exit {code})")
        return code
    # The redacted log is in the run's end record now: the raw copy (kept for a crash) goes.
    (folder / spool.LOG_NAME).unlink(missing_ok=True)
    for line in after.errors:
        _say(f"warning: {line}")
    queued = after.queued
    if server is not None:
        delivered = _deliver(started, server, folder)
        if delivered is None:
            _say(f"run {started.run_id[:12]} {status} (exit {code})")
            return code
        queued = delivered
    elapsed = time.time() - started.started_at
    where = "; queued in the local outbox until `ledger sync`" if queued else ""
    # A queued run's ledger server is gone: its ID is not asked of it.
    short = started.run_id[:12] if queued else _short(started)
    _say(f"run {short} {status} in {elapsed:.1f}s (exit {code}){where}")
    if started.store is not None:
        started.store.close()
    return code


def _deliver(started: StartedRun, store: Store, folder: Path) -> bool | None:
    """Give the ledger server the run's end from the spool within the `delivery_wait`
    setting; whether it went to the local outbox instead (the server was lost), or None
    (and one warning) when the server did not answer: the end waits in the spool for the
    next reader."""
    from ledger.delivery import outbox  # SQLAlchemy: only the server's path needs it

    failed: list[BaseException] = []
    queued: list[bool] = []

    def work() -> None:
        try:
            kept = run_records.read_end(folder)
            if kept is not None:
                queued.append(
                    outbox.finish_run(started.workspace, store, started.record, kept[0], series=kept[1])
                )
                spool.remove_run_dir(started.workspace.spool_dir, started.run_id)
        except Exception as e:  # noqa: BLE001 - reported below, the run is kept in the spool
            failed.append(e)

    thread = threading.Thread(target=work, name="ledger-deliver-end", daemon=True)
    thread.start()
    wait = started.workspace.config.delivery_wait
    thread.join(wait)
    if thread.is_alive() or failed:
        why = describe(failed[0]) if failed else f"no answer within {wait:g} s"
        _say(
            f"warning: the ledger server did not take the run's end ({why}); it waits in the "
            "spool: `ledger doctor --fix` or `ledger sync` records it"
        )
        return None
    return bool(queued and queued[0])


def _short(started: StartedRun) -> str:
    """The ID to print: its shortest unique prefix, or 12 characters when the ledger
    is not open here (a handed-over run: a prefix of 12 is unique in practice)."""
    if started.store is None:
        return started.run_id[:12]
    from ledger.read.queries import short_id  # SQLAlchemy: only for a ledger open in this process

    return short_id(started.store, started.run_id)


def _warm_imports() -> None:
    import ledger.read.queries
    import ledger.store.writes  # noqa: F401 - imported for its side effect: loaded once, early


def _heartbeat(store: Store, run_id: RunId, stop: threading.Event) -> None:
    from ledger.store import writes as recorder  # SQLAlchemy: only for a ledger open in this process

    while not stop.wait(HEARTBEAT_EVERY):
        # A missed heartbeat only delays crash detection on other hosts.
        with contextlib.suppress(Exception):
            recorder.heartbeat(store, run_id)


def _say(message: str) -> None:
    # A capture problem may quote a value the run wrote (a URL with its password).
    print(f"ledger: {redact_text(message)}", file=sys.stderr, flush=True)
