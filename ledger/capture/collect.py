"""A recorded run's life: capture its start and insert it, capture its end and save it,
and tell the git hooks about it; the parts come from `ledger.capture.before` and
`ledger.capture.run_end`."""

from __future__ import annotations

import dataclasses
import getpass
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.capture.after import After, capture_after
from ledger.capture.before import Before, capture_before
from ledger.capture.caps import cap_params
from ledger.capture.params import merge_params
from ledger.capture.run_end import end_of_run, scrubbed, tell_hooks
from ledger.core import records
from ledger.core.commandline import command_python
from ledger.core.errors import StoreError
from ledger.core.ids import new_run_id
from ledger.core.procinfo import hostname, process_start
from ledger.core.redact import capture_env, redact_argv
from ledger.delivery import handover as run_records
from ledger.delivery import spool
from ledger.store.workspace import Workspace, locate

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ledger.core.ids import RunId
    from ledger.core.records import NewRun, Param
    from ledger.store.engine import Store


@dataclass(frozen=True, slots=True)
class StartedRun:
    """A run row that exists in the ledger, with the handles to finish it."""

    run_id: RunId
    store: Store | None
    """The ledger the run is recorded in: the workspace's, or the local outbox; None
    when the run was handed over to a detached recorder (`ledger.delivery.handover`)."""
    workspace: Workspace
    """Its `url` is the outbox's when the server was unreachable at the start."""
    before: Before
    started_at: float
    record: NewRun
    """The run as inserted, to queue it whole if the server goes away before the end."""


def start_recorded_run(
    *,
    argv: Sequence[str],
    name: str | None,
    tags: Sequence[str],
    source: str,
    seeds: Mapping[str, object] | None = None,
    params: Sequence[Param] = (),
    pid: int | None = None,
    ws: Workspace | None = None,
    hand_over: bool = False,
) -> StartedRun:
    """Capture the code, data, environment and params, and insert the run as running.

    `params` (the API's `start_run(params=...)`) override captured ones of the same key
    and are inserted with the run, in its one transaction.

    An unreachable ledger server does not stop the run: it is recorded in the local
    outbox instead (`ledger.delivery.outbox`), and the returned workspace points there.
    With `hand_over`, a SQLite ledger is not opened at all: the start record is
    written to the run's spool folder for `spawn_recorder` (`ledger.delivery.handover`); a
    server that refuses the run then gets it the same way, from the next reader.
    """
    if ws is None:
        ws = locate(need_repo=True)
    run_id = new_run_id()
    started_at = time.time()
    before = capture_before(ws, run_id, argv, child=source == "run")
    owner = os.getpid() if pid is None else pid
    tree, snap = before.tree, before.snapshot
    record = records.NewRun(
        id=run_id,
        source=source,
        started_at=started_at,
        name=name,
        argv=redact_argv(list(argv)),
        cwd=str(Path.cwd()),
        repo=str(ws.root),
        host=hostname(),
        user=_user(),
        pid=owner,
        pid_start=process_start(owner),
        seeds=dict(seeds or {}),
        env_vars=capture_env(os.environ, allow=ws.config.env_allow),
        commit=None if tree is None else tree.commit,
        branch=None if tree is None else tree.branch,
        snapshot=None if snap is None else snap.commit,
        dirty=None if snap is None else snap.dirty,
        snapshot_skipped=() if snap is None else snap.skipped,
        environment=before.environment,
        capture_errors=before.errors,
        tags=tags,
        params=cap_params(merge_params([before.params, list(params)]), before.errors),
        data=before.data,
        interpreter=command_python(argv) if source == "run" else sys.executable,
    )
    record = scrubbed(record)
    if hand_over and run_records.deferrable(ws.url):
        run_records.write_start(spool.run_dir(ws.spool_dir, run_id), ws.url, record)
        return StartedRun(run_id, None, ws, before, started_at, record)
    from ledger.delivery import outbox  # SQLAlchemy: a handed-over run never opens the ledger

    try:
        store, ws = outbox.start_run(ws, record)
    except StoreError:
        if not hand_over:
            raise
        # The API's run starts whatever the ledger says; the spool keeps it for later.
        run_records.write_start(spool.run_dir(ws.spool_dir, run_id), ws.url, record)
        return StartedRun(run_id, None, ws, before, started_at, record)
    return StartedRun(run_id, store, ws, before, started_at, record)


def start_capture_after(started: StartedRun) -> Callable[[], After]:
    """Begin the end-of-run capture in a thread; calling the result waits for it.

    It spends its time waiting on git processes, so the API runs it while its last
    flush waits on the database: a run's close costs the longer of the two, not both.
    """
    done: list[After | BaseException] = []

    def work() -> None:
        try:
            done.append(capture_after(started.workspace, started.before, started_at=started.started_at))
        except BaseException as e:  # noqa: BLE001 - handed to the caller, raised there
            done.append(e)

    thread = threading.Thread(target=work, name="ledger-capture-after", daemon=True)
    thread.start()

    def result() -> After:
        thread.join()
        if isinstance(done[0], BaseException):
            raise done[0]
        return done[0]

    return result


def finish_recorded_run(
    started: StartedRun,
    *,
    status: str,
    exit_code: int | None = None,
    peak_rss: int | None = None,
    log: tuple[bytes, int, bool] | None = None,
    after: After | None = None,
) -> After:
    """Capture what the run left, save its end, and tell the git hooks about it.

    `log` is (compressed bytes, size before truncation, truncated); `after` is the
    capture `start_capture_after` made. Points still in the run's spool (a child that
    died before flushing) are saved first.
    """
    ws = started.workspace
    after, end, series = end_of_run(
        ws,
        started.run_id,
        started.before,
        started_at=started.started_at,
        status=status,
        exit_code=exit_code,
        peak_rss=peak_rss,
        log=log,
        after=after,
    )
    if started.store is None:
        run_records.write_end(spool.run_dir(ws.spool_dir, started.run_id), end, series)
        queued = False
    else:
        from ledger.delivery import outbox  # SQLAlchemy: a handed-over run never opens the ledger

        queued = outbox.finish_run(ws, started.store, started.record, end, series=series)
        spool.remove_run_dir(ws.spool_dir, started.run_id)
    tell_hooks(ws, started.run_id, started.before, after, status=status)
    return dataclasses.replace(after, errors=list(end.capture_errors), queued=queued)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
