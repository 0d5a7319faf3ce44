"""Collect a run record's parts: code, data, environment and params before, results after."""

from __future__ import annotations

import dataclasses
import getpass
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ledger import dvc, dvc_match, records, run_records, spool
from ledger.environment import capture_environment
from ledger.errors import LedgerError
from ledger.ids import RunId, new_run_id
from ledger.metrics_files import read_dvclive_series, read_metrics_file
from ledger.params import merge_params, params_from, parse_argv_params, read_params_file
from ledger.procinfo import hostname, process_start
from ledger.records import DataItem, Metric, OutputFile
from ledger.redact import capture_env, redact_argv
from ledger.workspace import Workspace, locate

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ledger.chunks import Points
    from ledger.environment import Environment
    from ledger.git import Snapshot, WorkTree
    from ledger.records import NewRun, Param
    from ledger.store import Store

DVC_FILES = ("*.dvc", "dvc.lock", "*/dvc.lock", "dvc.yaml", "*/dvc.yaml")
"""Pathspecs of the files DVC keeps its hashes and declarations in."""

HASH_MAX_BYTES = 8 * 1024**3
"""Outputs bigger than this are recorded by size only: hashing them would stall the exit."""


@dataclass(frozen=True, slots=True)
class Before:
    """Everything recorded about a run before it starts."""

    tree: WorkTree | None
    snapshot: Snapshot | None
    environment: Environment
    data: list[DataItem]
    params: list[Param]
    params_files: tuple[str, ...]
    metrics_files: tuple[str, ...]
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    """(mtime_ns, size) of changed, untracked and metrics files, to tell what the run wrote."""
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class After:
    """What a run left behind: metrics files, DVCLive series, data and outputs."""

    metrics: list[Metric]
    series: dict[str, Points]
    data: list[DataItem]
    outputs: list[OutputFile]
    errors: list[str]
    queued: bool = False
    """The ledger server was unreachable: the record waits in the local outbox."""


@dataclass(frozen=True, slots=True)
class StartedRun:
    """A run row that exists in the ledger, with the handles to finish it."""

    run_id: RunId
    store: Store | None
    """The ledger the run is recorded in: the workspace's, or the local outbox; None
    when the run was handed over to a detached recorder (`ledger.run_records`)."""
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
    outbox instead (`ledger.outbox`), and the returned workspace points there.
    With `hand_over`, a SQLite ledger is not opened at all: the start record is
    written to the run's spool folder for `spawn_recorder` (`ledger.run_records`).
    """
    if ws is None:
        ws = locate(need_repo=True)
    run_id = new_run_id()
    started_at = time.time()
    before = capture_before(ws, run_id, argv)
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
        params=merge_params([before.params, list(params)]),
        data=before.data,
    )
    if hand_over and run_records.deferrable(ws.url):
        run_records.write_start(spool.run_dir(ws.spool_dir, run_id), ws.url, record)
        return StartedRun(run_id, None, ws, before, started_at, record)
    from ledger import outbox

    store, ws = outbox.start_run(ws, record)
    return StartedRun(run_id, store, ws, before, started_at, record)


def capture_before(ws: Workspace, run_id: RunId, argv: Sequence[str]) -> Before:
    """Snapshot the code and read data hashes, environment and params.

    Problems with the user's files become lines in the record, never a lost run.
    """
    from ledger import git

    errors: list[str] = []
    root = ws.root
    with git.open_repo(root) as repo:
        tree = git.read_worktree(repo)
        try:
            snapshot: Snapshot | None = git.make_snapshot(
                repo,
                tree,
                ref=f"{git.SNAPSHOT_REF_PREFIX}{run_id}",
                deny=ws.config.snapshot_deny,
                max_file_bytes=ws.config.snapshot_max_file_bytes,
                max_total_bytes=ws.config.snapshot_max_total_bytes,
            )
        except LedgerError as e:
            snapshot = None
            errors.append(f"code snapshot failed: {e}")
        dvc_files = git.list_files(repo, *DVC_FILES, untracked=tree.untracked)
    declared = dvc.declared_files(root, dvc_files)
    data, data_errors = read_data(ws, dvc_files)
    errors += data_errors
    params_files = tuple(dict.fromkeys((*ws.config.params_files, *declared.params)))
    groups = []
    for name in params_files:
        path = root / name
        if not path.is_file():
            continue
        try:
            groups.append(params_from(read_params_file(path), name))
        except ValueError as e:
            errors.append(str(e) if str(e).startswith(name) else f"{name}: {e}")
    if ws.config.argv_params:
        groups.append(params_from(parse_argv_params(argv), "argv"))
    metrics_files = tuple(dict.fromkeys((*ws.config.metrics_files, *declared.metrics)))
    watched = (*tree.changed, *tree.untracked, *metrics_files)
    return Before(
        tree=tree,
        snapshot=snapshot,
        environment=capture_environment(),
        data=data,
        params=merge_params(groups),
        params_files=params_files,
        metrics_files=metrics_files,
        stats={p: s for p in watched if (s := _stat(root / p)) is not None},
        errors=errors,
    )


def read_data(ws: Workspace, dvc_files: Sequence[str]) -> tuple[list[DataItem], list[str]]:
    """DVC hashes from `dvc.lock` and `*.dvc`, with whether the workspace matches them."""
    scan = dvc.read_data_refs(ws.root, dvc_files)
    matches = dvc_match.workspace_matches(
        ws.root, scan.refs, cache_path=ws.spool_dir.parent / "hash-cache.json"
    )
    items = [
        DataItem(
            path=r.path,
            role=r.role,
            algorithm=r.algorithm,
            value=r.value,
            size=r.size,
            nfiles=r.nfiles,
            source=r.source,
            stage=r.stage,
            workspace_match=matches.get(r.path),
        )
        for r in scan.refs
    ]
    return items, list(scan.errors)


def capture_after(ws: Workspace, before: Before, *, started_at: float) -> After:
    """Read what the run wrote: files older than the run are not its results."""
    from ledger import git

    root = ws.root
    errors: list[str] = []
    metrics: list[Metric] = []
    for name in before.metrics_files:
        path = root / name
        if not _written(path, name, before):
            continue
        values, problems = read_metrics_file(path, label=name)
        errors += problems
        metrics += [Metric(key=k, value=v, step=None, source=name) for k, v in values.items()]
    series, problems = read_dvclive_series(root, since=started_at)
    errors += problems
    with git.open_repo(root) as repo:
        tree = git.read_worktree(repo)
        dvc_files = git.list_files(repo, *DVC_FILES, untracked=tree.untracked)
    data, data_errors = read_data(ws, dvc_files)
    errors += [e for e in data_errors if e not in before.errors]
    written = [p for p in (*tree.changed, *tree.untracked) if _written(root / p, p, before)]
    written += _glob_outputs(root, ws.config.outputs, started_at)
    before_data = {(d.path, d.value) for d in before.data}
    outputs = [
        OutputFile(path=d.path, algorithm=d.algorithm, value=d.value, size=d.size or 0)
        for d in data
        if d.role == "out" and (d.path, d.value) not in before_data
    ]
    taken = {o.path for o in outputs}
    for name in dict.fromkeys(written):
        if name not in taken:
            outputs.append(_hash_output(root, name))
    return After(metrics=metrics, series=series, data=data, outputs=outputs, errors=errors)


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
    from ledger import inbox

    ws = started.workspace
    if after is None:
        after = capture_after(ws, started.before, started_at=started.started_at)
    data, size, truncated = log if log is not None else (None, 0, False)
    end = records.RunEnd(
        status=status,
        ended_at=time.time(),
        exit_code=exit_code,
        peak_rss=peak_rss,
        metrics=after.metrics,
        outputs=after.outputs,
        data=after.data,
        capture_errors=after.errors,
        log=data,
        log_size=size,
        log_truncated=truncated,
    )
    if started.store is None:
        run_records.write_end(spool.run_dir(ws.spool_dir, started.run_id), end, after.series)
        queued = False
    else:
        from ledger import outbox

        queued = outbox.finish_run(started, started.store, end, series=after.series)
        spool.remove_run_dir(ws.spool_dir, started.run_id)
    snapshot = started.before.snapshot
    if ws.repo is not None and snapshot is not None:
        inbox.remember_run(
            ws.repo.common_dir,
            {
                "id": started.run_id,
                "snapshot": snapshot.commit,
                "tree": snapshot.tree,
                "commit": None if started.before.tree is None else started.before.tree.commit,
                "outputs": sorted({o.path for o in after.outputs} | {m.source for m in after.metrics}),
                "status": status,
                "ended_at": time.time(),
            },
        )
    return dataclasses.replace(after, queued=queued)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if path.is_file() else None


def _written(path: Path, name: str, before: Before) -> bool:
    """A file the run created or changed: its stat differs from the one taken before."""
    now = _stat(path)
    return now is not None and now != before.stats.get(name)


def _written_since(path: Path, started_at: float) -> bool:
    """For ignored files, which are not stat'ed before a run: modified after it started."""
    try:
        return path.is_file() and path.stat().st_mtime >= started_at
    except OSError:
        return False


def _glob_outputs(root: Path, patterns: Sequence[str], started_at: float) -> list[str]:
    found = []
    for pattern in patterns:
        for path in root.glob(pattern):
            if _written_since(path, started_at):
                found.append(path.relative_to(root).as_posix())
    return found


def _hash_output(root: Path, path: str) -> OutputFile:
    full = root / path
    size = full.stat().st_size
    value = dvc_match.hash_file(full) if size <= HASH_MAX_BYTES else None
    return OutputFile(path=path, algorithm="md5", value=value, size=size)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
