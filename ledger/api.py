"""The Python API a training script calls: `log_metrics`, `log_params`, `start_run`.

A metric point costs microseconds: it is appended to in-memory arrays and to the
run's spool file (one unbuffered `write()` per call, so a SIGKILL loses nothing);
the ledger database is written in blocks by a background thread (`ledger.delivery.flusher`),
on a timer and when the buffer fills. No call here raises or waits because of the
ledger: trouble with it is one warning line, and the spool keeps everything.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import signal
import struct
import sys
import threading
import time
from array import array
from typing import TYPE_CHECKING, Any

from ledger.core.chunks import Points
from ledger.core.errors import LedgerError
from ledger.core.ids import RunId
from ledger.delivery import handover, spool
from ledger.delivery.flusher import Flusher, describe, warn_once
from ledger.store import writes

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from pathlib import Path

    from ledger.capture.collect import StartedRun
    from ledger.core.records import Param
    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace

FLUSH_POINTS = 250_000
"""Buffered points that trigger a write before the timer does (bounds memory)."""

_Buffer = tuple["array[int]", "array[int]", "array[float]"]


class ActiveRun:
    """A run this process logs into; either its own or the one `ledger run` made.

    Only the background writer (`ledger.delivery.flusher`) touches the database; the calls a
    training loop makes append to the spool and to in-memory arrays, under a lock
    that no database call ever holds.
    """

    def __init__(
        self,
        store: Store | None,
        run_id: RunId,
        spool_dir: Path,
        *,
        started: StartedRun | None,
        flush_interval: float,
        flush_wait: float,
        end_wait: float,
        opener: Callable[[], Store] | None = None,
    ) -> None:
        self.id = run_id
        self.owned = started is not None
        """Whether this process created the run, and so decides its final status."""
        self._started = started
        self._store = store
        self._opener = opener
        """Opens the ledger in the writer thread, when `store` is not open yet."""
        self._spool_dir = spool_dir
        self._lock = threading.Lock()
        self._buffers: dict[str, _Buffer] = {}
        self._next_step: dict[str, int] = {}
        self._pending = 0
        self._seq = 0
        self._keysets: dict[tuple[str, ...], spool.KeySet] = {}
        self._fd, self._spool_path = spool.open_points_file(spool_dir, run_id, self._seq)
        self._closed = False
        self._asked_flush = False
        self._flush_wait = flush_wait
        self._end_wait = end_wait
        self._writer = Flusher(self._write_buffered, interval=flush_interval, name="ledger-writer")

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Buffer one value per key at `step` (default: one past the key's last step).

        The hot path of a training loop: one lock, one `write()`, array appends.
        """
        now = time.time_ns() // 1_000_000
        keys = tuple(metrics)
        try:
            values = [float(v) for v in metrics.values()]
        except (TypeError, ValueError):
            raise TypeError(_not_a_number(metrics)) from None
        with self._lock:
            if self._closed:
                raise RuntimeError(f"run {self.id} has ended; start a new one to log more")
            keyset = self._keysets.get(keys)
            try:
                if keyset is None:
                    keyset = spool.KeySet(len(self._keysets), keys)
                    os.write(self._fd, keyset.declaration())
                    self._keysets[keys] = keyset
                if step is None:
                    steps = [self._next_step.get(k, 0) for k in keys]
                    os.write(self._fd, keyset.pack_steps(now, steps, values))
                else:
                    steps = [step] * len(keys)
                    os.write(self._fd, keyset.pack(now, step, values))
            except (OSError, struct.error) as e:
                warn_once(f"cannot write the run's spool ({describe(e)}); these metrics are not recorded")
                return
            for key, at in zip(keys, steps, strict=True):
                self._next_step[key] = at + 1
            if self._writer.failed:
                return  # the spool holds the points; no database write will take them
            buffers = self._buffers
            for key, at, value in zip(keys, steps, values, strict=True):
                buf = buffers.get(key)
                if buf is None:
                    buf = buffers[key] = (array("q"), array("q"), array("d"))
                buf[0].append(at)
                buf[1].append(now)
                buf[2].append(value)
            self._pending += len(keys)
            if self._pending >= FLUSH_POINTS and not self._asked_flush:
                self._asked_flush = True
                self._writer.submit()

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record params: kept in the spool at once, written to the ledger in the background."""
        from ledger.capture.params import flatten, params_from

        self._keep_extras(params=params_from(flatten(params), "api"))

    def set_tags(self, tags: Sequence[str]) -> None:
        """Tag the run (kept in the spool at once, written in the background)."""
        self._keep_extras(tags=list(tags))

    def defer(self, job: Callable[[Store], None]) -> None:
        """Run a database write of the run in the background writer, never in the caller."""
        self._writer.submit(lambda: self._with_store(job))

    def flush(self) -> None:
        """Write buffered points to the ledger now; waits a bounded time, never for good."""
        self._writer.wait(self._writer.submit(), self._flush_wait)

    def close(self, status: str | None = None) -> None:
        """End logging; if this process owns the run, record its end with `status`.

        A run `ledger run` started keeps what is left in the spool: the wrapper saves
        it when the command ends. A run of this process gets its end written to the
        spool first (durable), then to the ledger within the `end_wait` setting; a ledger that
        cannot take it by then leaves it to the next command that reads the ledger.
        """
        started = self._started if status is not None else None
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if started is not None and status is not None:
            self._record_end(started, status)
        else:  # what `defer` queued (seeds, checkpoint hashes) goes in before the process ends
            self._writer.wait(self._writer.submit(_nothing), self._end_wait)
        self._writer.stop()
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _record_end(self, started: StartedRun, status: str) -> None:
        from ledger.capture.collect import finish_recorded_run, start_capture_after
        from ledger.delivery.settle import record_now

        after = start_capture_after(started)  # git work, overlapping the last points' write
        self._writer.submit()
        folder = spool.run_dir(self._spool_dir, self.id)
        try:
            captured = after()
            if started.store is not None:
                # Recorded directly since its start: its record joins the spool too, so
                # whoever finds it there can finish it if this process cannot.
                handover.write_start(folder, started.store.url, started.record)
            finish_recorded_run(dataclasses.replace(started, store=None), status=status, after=captured)
        except (LedgerError, OSError) as e:
            self._writer.fail(f"cannot record the end of run {self.id[:12]} ({describe(e)})")
            return
        ticket = self._writer.submit(lambda: self._with_store(lambda store: record_now(store, folder)))
        self._writer.wait(ticket, self._end_wait)

    def _keep_extras(self, *, params: Sequence[Param] = (), tags: Sequence[str] = ()) -> None:
        try:
            spool.write_extras(self._spool_dir, self.id, params=params, tags=tags)
        except OSError as e:
            warn_once(f"cannot write the run's spool ({describe(e)})")
        self.defer(lambda store: _write_extras(store, self.id, params, tags))

    def _with_store(self, job: Callable[[Store], None]) -> None:
        if self._store is None:
            if self._opener is None:
                raise LedgerError("the run's ledger is not open")
            self._store = self._opener()
        job(self._store)

    def _write_buffered(self) -> None:
        """Swap buffers and spool file, write the blocks, then drop the old spool file.

        The lock is held only for the swap: points logged meanwhile go to the new
        file. The old file goes only after the database has its points; a failed
        write leaves it for whoever ends the run.
        """
        with self._lock:
            self._asked_flush = False
            if not self._pending or self._fd < 0:
                return
            batches = {k: Points(*b) for k, b in self._buffers.items() if len(b[0])}
            old_fd, old_path = self._fd, self._spool_path
            self._buffers = {}
            self._pending = 0
            if self._closed:
                self._fd = -1
            else:
                self._seq += 1
                self._fd, self._spool_path = spool.open_points_file(self._spool_dir, self.id, self._seq)
                self._keysets = {}  # a new file starts with no key sets declared
        try:
            self._with_store(lambda store: writes.add_points(store, self.id, batches))
        finally:
            os.close(old_fd)
        old_path.unlink(missing_ok=True)


def _nothing() -> None:
    """A job that only marks its place in the writer's queue."""


def _write_extras(store: Store, run_id: RunId, params: Sequence[Param], tags: Sequence[str]) -> None:
    if params:
        writes.add_params(store, run_id, params)
    if tags:
        writes.add_tags(store, [run_id], list(tags))


_active: ActiveRun | None = None
_active_lock = threading.Lock()


def current_run() -> ActiveRun | None:
    """The run this process logs into: started here, or inherited from `ledger run`."""
    global _active
    run = _active  # the hot path: no lock once a run is active
    if run is None:
        with _active_lock:
            if _active is None and os.environ.get("LEDGER_RUN_ID"):
                _active = _attach(RunId(os.environ["LEDGER_RUN_ID"]))
            run = _active
    return run


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log metric values at a step; starts a run for the script if none is active."""
    run = current_run() or _start_implicit()
    run.log_metrics(metrics, step)


def log_params(params: Mapping[str, Any]) -> None:
    """Log params (nested mappings are flattened to dotted keys)."""
    run = current_run() or _start_implicit()
    run.log_params(params)


@contextlib.contextmanager
def start_run(
    name: str | None = None,
    *,
    tags: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
) -> Iterator[ActiveRun]:
    """Capture a run around a block: code, data, environment, then status at the end.

    Under `ledger run` this joins the wrapper's run instead of making a second one.
    An exception marks the run failed (Ctrl-C: interrupted) and propagates.
    """
    global _active
    run = current_run()
    if run is None:
        run = _create(name=name, tags=tags, params=params or {})
        with _active_lock:
            _active = run
    else:
        if tags:
            run.set_tags(tags)
        if params:
            run.log_params(params)
    try:
        yield run
    except KeyboardInterrupt:
        _finish(run, "interrupted")
        raise
    except BaseException:
        _finish(run, "failed")
        raise
    _finish(run, "finished")


def _finish(run: ActiveRun, status: str) -> None:
    global _active
    run.close(status)
    with _active_lock:
        if _active is run:
            _active = None


def _start_implicit() -> ActiveRun:
    """MLflow-style: logging without a run starts one that ends with the script."""
    global _active
    run = _create(name=None, tags=(), params={})
    with _active_lock:
        _active = run
    _watch_exit(run)
    atexit.register(run.close, "finished")
    return run


def _watch_exit(run: ActiveRun) -> None:
    """Close the run with the right status when an exception ends the script.

    Our last flush then happens during interpreter shutdown, and any import after
    the interrupt makes CPython forget that an uncaught Ctrl-C should end the process
    *by SIGINT* (exit 130 in a shell; `ledger run` and shell scripts rely on it). So
    we note the interrupt and, after every other exit handler (the script's own
    checkpoint-on-exit handlers included), end the process by SIGINT ourselves, as
    CPython would have.
    """
    previous = sys.excepthook

    def _hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        interrupted = issubclass(kind, KeyboardInterrupt)
        if run.owned:
            run.close("interrupted" if interrupted else "failed")
        if interrupted:
            # Exit handlers run newest first, so this one runs first, and runs the others.
            atexit.register(_exit_by_sigint)
        previous(kind, value, tb)

    sys.excepthook = _hook


def _exit_by_sigint() -> None:
    atexit.unregister(_exit_by_sigint)
    atexit._run_exitfuncs()  # private, but the only way to run after every other handler
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


def _attach(run_id: RunId) -> ActiveRun:
    from ledger.store.workspace import locate

    ws = locate()
    run = ActiveRun(
        None,
        run_id,
        ws.spool_dir,
        started=None,
        flush_interval=ws.config.flush_interval,
        flush_wait=ws.config.flush_wait,
        end_wait=ws.config.end_wait,
        opener=lambda: _open_for(ws, run_id),
    )
    _watch_exit(run)
    atexit.register(run.close)
    return run


def _open_for(ws: Workspace, run_id: RunId) -> Store:
    """Open the ledger of a run `ledger run` made (in the writer thread: it may be slow)."""
    from ledger.delivery.settle import ensure_started
    from ledger.store.workspace import open_store

    store = open_store(ws)
    # `ledger run` may have handed the run to a recorder still starting up.
    ensure_started(store, ws.spool_dir, run_id)
    return store


def _create(*, name: str | None, tags: Sequence[str], params: Mapping[str, Any]) -> ActiveRun:
    """Start the script's own run; a SQLite ledger is not even opened here (`hand_over`)."""
    from ledger.capture.collect import start_recorded_run
    from ledger.capture.params import flatten, params_from
    from ledger.store.workspace import open_store

    rows = params_from(flatten(params), "api")
    started = start_recorded_run(
        argv=sys.argv, name=name, tags=tags, params=rows, source="api", hand_over=True
    )
    ws = started.workspace

    def _open() -> Store:
        from ledger.delivery.settle import ensure_started

        store = open_store(ws)
        ensure_started(store, ws.spool_dir, started.run_id)
        return store

    return ActiveRun(
        started.store,
        started.run_id,
        ws.spool_dir,
        started=started,
        flush_interval=ws.config.flush_interval,
        flush_wait=ws.config.flush_wait,
        end_wait=ws.config.end_wait,
        opener=_open,
    )


def _not_a_number(metrics: Mapping[str, Any]) -> str:
    """Name the first value float() refuses (NaN and infinities are fine: they are floats)."""
    for key, value in metrics.items():
        try:
            float(value)
        except (TypeError, ValueError):
            return f"metric {key!r}: {value!r} is not a number"
    return "metrics must be numbers"


def for_current_run(job: Callable[[Store, RunId], None]) -> None:
    """Write `job` into the run this process logs into, in its background writer.

    Started as the API starts one; like every API call it never waits on the ledger
    nor raises because of it (`ledger.delivery.flusher`).
    """
    run = current_run()
    if run is None:
        log_params({})  # starts the script's own run, as its first logging call would
        run = current_run()
    if run is None:  # pragma: no cover - log_params always leaves a run active
        raise RuntimeError("no ledger run is active")
    run_id = run.id
    run.defer(lambda store: job(store, run_id))
