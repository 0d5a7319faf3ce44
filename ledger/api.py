"""The Python API a training script calls: `log_metrics`, `log_params`, `start_run`.

A metric point costs microseconds: it is appended to in-memory arrays and to the
run's spool file (one unbuffered `write()` per call, so a SIGKILL loses nothing);
the ledger database is written in blocks, on a timer, when the buffer fills, and
at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from array import array
from typing import TYPE_CHECKING, Any

from ledger import recorder, spool
from ledger.chunks import Points
from ledger.errors import StoreUnreachableError
from ledger.ids import RunId

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from ledger.capture import StartedRun
    from ledger.store import Store

FLUSH_POINTS = 250_000
"""Buffered points that trigger a write before the timer does (bounds memory)."""

_log = logging.getLogger("ledger")

_Buffer = tuple["array[int]", "array[int]", "array[float]"]


class ActiveRun:
    """A run this process logs into; either its own or the one `ledger run` made."""

    def __init__(
        self,
        store: Store | None,
        run_id: RunId,
        spool_dir: Path,
        *,
        started: StartedRun | None,
        flush_interval: float,
    ) -> None:
        self.id = run_id
        self.owned = started is not None
        """Whether this process created the run, and so decides its final status."""
        self._started = started
        self._store = store  # None while the ledger server is unreachable: spool only
        self._spool_dir = spool_dir
        self._lock = threading.Lock()
        self._buffers: dict[str, _Buffer] = {}
        self._next_step: dict[str, int] = {}
        self._pending = 0
        self._seq = 0
        self._keysets: dict[tuple[str, ...], spool.KeySet] = {}
        self._fd, self._spool_path = spool.open_points_file(spool_dir, run_id, self._seq)
        self._closed = False
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._tick, args=(flush_interval,), daemon=True)
        self._timer.start()

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
            if keyset is None:
                keyset = self._keysets[keys] = spool.KeySet(len(self._keysets), keys)
                os.write(self._fd, keyset.declaration())
            if step is None:
                steps = [self._next_step.get(k, 0) for k in keys]
                os.write(self._fd, keyset.pack_steps(now, steps, values))
            else:
                steps = [step] * len(keys)
                os.write(self._fd, keyset.pack(now, step, values))
            buffers = self._buffers
            for key, at, value in zip(keys, steps, values, strict=True):
                buf = buffers.get(key)
                if buf is None:
                    buf = buffers[key] = (array("q"), array("q"), array("d"))
                buf[0].append(at)
                buf[1].append(now)
                buf[2].append(value)
                self._next_step[key] = at + 1
            self._pending += len(keys)
            if self._pending >= FLUSH_POINTS:
                self._flush_locked()

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record params now (they are few; no buffering)."""
        from ledger.params import flatten, params_from

        rows = params_from(flatten(params), "api")
        if self._store is not None:
            try:
                recorder.add_params(self._store, self.id, rows)
                return
            except StoreUnreachableError as e:
                self._go_offline(e)
        from ledger.outbox import spool_extras

        spool_extras(self._spool_dir, self.id, params=rows)

    def set_tags(self, tags: Sequence[str]) -> None:
        """Tag the run."""
        if self._store is not None:
            try:
                recorder.add_tags(self._store, [self.id], list(tags))
                return
            except StoreUnreachableError as e:
                self._go_offline(e)
        from ledger.outbox import spool_extras

        spool_extras(self._spool_dir, self.id, tags=tags)

    def flush(self) -> None:
        """Write buffered points to the ledger now."""
        with self._lock:
            self._flush_locked()

    def close(self, status: str | None = None) -> None:
        """Flush, and if this process owns the run, set its final status."""
        started = self._started if status is not None else None
        with self._lock:
            if self._closed:
                return
            after = None
            if started is not None:
                from ledger.capture import start_capture_after

                after = start_capture_after(started)  # overlaps the flush below
            self._flush_locked(final=True)
            self._closed = True
        self._stop.set()
        if started is not None and status is not None and after is not None:
            from ledger.capture import finish_recorded_run

            finish_recorded_run(started, status=status, after=after())

    def _flush_locked(self, *, final: bool = False) -> None:
        """Swap buffers and spool file, write the blocks, then drop the old spool file.

        Runs with the lock held, so points logged meanwhile wait rather than race;
        the old spool file goes only after the database has the points. The `final`
        flush of a closing run opens no new spool file.
        """
        if self._store is None:
            # Offline: the spool file already holds every point, and whoever ends the
            # run saves it (into the ledger or the local outbox, `ledger.outbox`).
            self._buffers = {}
            self._pending = 0
            if final:
                os.close(self._fd)
            return
        if not self._pending and not final:
            return
        batches = {k: Points(*b) for k, b in self._buffers.items() if len(b[0])}
        old_fd, old_path = self._fd, self._spool_path
        if not final:
            self._seq += 1
            self._fd, self._spool_path = spool.open_points_file(self._spool_dir, self.id, self._seq)
            self._keysets = {}  # a new file starts with no key sets declared
        self._buffers = {}
        self._pending = 0
        try:
            recorder.add_points(self._store, self.id, batches)
        except StoreUnreachableError as e:
            self._go_offline(e)  # the old spool file keeps this batch
            return
        finally:
            os.close(old_fd)
        old_path.unlink(missing_ok=True)

    def _go_offline(self, error: StoreUnreachableError) -> None:
        """Stop writing to an unreachable server for the rest of the run (one warning)."""
        if self._store is None:
            return
        self._store = None
        _log.warning(
            "ledger: warning: %s; metrics and params are kept in the spool and saved when the run ends",
            error.message,
        )

    def _tick(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.flush()
            except Exception as e:  # noqa: BLE001 - a flush failure must not kill training; the spool keeps the points
                _log.warning("exp-ledger: could not write metrics yet (%s); they are kept in the spool", e)


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
    from ledger.run_recorder import ensure_started
    from ledger.workspace import locate, open_store

    ws = locate()
    try:
        opened = open_store(ws)
        # `ledger run` may have handed the run to a recorder still starting up.
        ensure_started(opened, ws.spool_dir, run_id)
        store: Store | None = opened
    except StoreUnreachableError as e:
        # `ledger run` ingests this process's spool when it ends, wherever it records the run.
        _log.warning("ledger: warning: %s; metrics are kept in the spool until the run ends", e.message)
        store = None
    run = ActiveRun(store, run_id, ws.spool_dir, started=None, flush_interval=ws.config.flush_interval)
    _watch_exit(run)
    atexit.register(run.close)
    return run


def _create(*, name: str | None, tags: Sequence[str], params: Mapping[str, Any]) -> ActiveRun:
    from ledger.capture import start_recorded_run
    from ledger.params import flatten, params_from

    rows = params_from(flatten(params), "api")
    started = start_recorded_run(argv=sys.argv, name=name, tags=tags, params=rows, source="api")
    return ActiveRun(
        started.store,
        started.run_id,
        started.workspace.spool_dir,
        started=started,
        flush_interval=started.workspace.config.flush_interval,
    )


def _not_a_number(metrics: Mapping[str, Any]) -> str:
    """Name the first value float() refuses (NaN and infinities are fine: they are floats)."""
    for key, value in metrics.items():
        try:
            float(value)
        except (TypeError, ValueError):
            return f"metric {key!r}: {value!r} is not a number"
    return "metrics must be numbers"
