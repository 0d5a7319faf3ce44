"""Collect a run record's parts: code, data, environment and params before, results after."""

from __future__ import annotations

import dataclasses
import getpass
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ledger.capture import log_scalars, runtime
from ledger.capture.caps import cap_params, cap_results, scrub
from ledger.capture.config_params import read_named_configs
from ledger.capture.environment import capture_environment, command_environment
from ledger.capture.ignored_inputs import find_ignored_inputs
from ledger.capture.metrics_files import (
    dvclive_dirs,
    read_dvclive_series,
    read_metrics_file,
    read_plot_series,
    shown_keys,
)
from ledger.capture.outputs import scan_outputs
from ledger.capture.params import merge_params, params_from, parse_argv_params, read_params_file
from ledger.capture.run_folder import own_folders, within
from ledger.core import records
from ledger.core.commandline import command_python
from ledger.core.errors import LedgerError, StoreError
from ledger.core.ids import RunId, new_run_id
from ledger.core.procinfo import hostname, process_start
from ledger.core.records import DataItem, Metric, OutputFile
from ledger.core.redact import capture_env, redact_argv
from ledger.delivery import handover as run_records
from ledger.delivery import spool
from ledger.dvc import files as dvc
from ledger.dvc import match as dvc_match
from ledger.setup.own_setup import only_own_setup
from ledger.store.workspace import Workspace, locate

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ledger.capture.framework_logs import FrameworkLogs
    from ledger.core.chunks import Points
    from ledger.core.lockfile import Environment
    from ledger.core.records import NewRun, Param
    from ledger.git.snapshot import Snapshot, WorkTree
    from ledger.store.engine import Store

DVC_FILES = ("*.dvc", "dvc.lock", "*/dvc.lock", "dvc.yaml", "*/dvc.yaml")
"""Pathspecs of the files DVC keeps its hashes and declarations in."""

_R = TypeVar("_R", records.NewRun, records.RunEnd)


@dataclass(frozen=True, slots=True)
class Before:
    """Everything recorded about a run before it starts."""

    tree: WorkTree | None
    snapshot: Snapshot | None
    environment: Environment
    data: list[DataItem]
    params: list[Param]
    params_files: tuple[str, ...]
    """Every params file: those read before the run, and those it writes (`written_params`)."""
    metrics_files: tuple[str, ...]
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    """(mtime_ns, size) of changed, untracked, params and metrics files, to tell what the run wrote."""
    argv_params: tuple[Param, ...] = ()
    """Params from the command line: they override every file, including those read after."""
    watched: frozenset[str] = frozenset()
    """The paths `stats` was taken for, present or not."""
    errors: list[str] = field(default_factory=list)
    row_logs: dict[str, bytes] = field(default_factory=dict)
    """Framework logs as they were before the run (`ledger.capture.framework_logs.copy_row_logs`)."""


@dataclass(frozen=True, slots=True)
class After:
    """What a run left behind: metrics files, DVCLive series, data and outputs."""

    metrics: list[Metric]
    series: dict[str, dict[str, Points]]
    """Step series read from files, by the file they came from."""
    data: list[DataItem]
    outputs: list[OutputFile]
    errors: list[str]
    params: list[Param] = field(default_factory=list)
    """Params from files the run itself wrote (DVCLive's `params.yaml`), read after it."""
    queued: bool = False
    """The ledger server was unreachable: the record waits in the local outbox."""
    run_folders: list[str] = field(default_factory=list)
    """The run's own folders: made and written into during it (`ledger.capture.run_folder`)."""


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
    record = _scrubbed(record)
    if hand_over and run_records.deferrable(ws.url):
        run_records.write_start(spool.run_dir(ws.spool_dir, run_id), ws.url, record)
        return StartedRun(run_id, None, ws, before, started_at, record)
    from ledger.delivery import outbox

    try:
        store, ws = outbox.start_run(ws, record)
    except StoreError:
        if not hand_over:
            raise
        # The API's run starts whatever the ledger says; the spool keeps it for later.
        run_records.write_start(spool.run_dir(ws.spool_dir, run_id), ws.url, record)
        return StartedRun(run_id, None, ws, before, started_at, record)
    return StartedRun(run_id, store, ws, before, started_at, record)


def capture_before(ws: Workspace, run_id: RunId, argv: Sequence[str], *, child: bool = False) -> Before:
    """Snapshot the code and read data hashes, environment and params.

    `child`: `argv` is a command about to run (`ledger run`), whose environment is the
    one its interpreter sees; otherwise the run is this process, in this interpreter.

    Problems with the user's files become lines in the record, never a lost run.
    """
    from ledger.git import snapshot as git

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
        if snapshot is not None and snapshot.dirty and only_own_setup(root, tree):
            snapshot = dataclasses.replace(snapshot, dirty=False)  # kept in it, but not "dirty"
        dvc_files = git.list_files(repo, *DVC_FILES, untracked=tree.untracked)
    declared = dvc.declared_files(root, dvc_files)
    data, data_errors = read_data(ws, dvc_files)
    errors += data_errors
    params_files = tuple(dict.fromkeys((*ws.config.params_files, *declared.params)))
    products = _products(data)
    groups = [_read_params(root, name, errors) for name in params_files if not _within(name, products)]
    configs = read_named_configs(argv, cwd=Path.cwd(), root=root, errors=errors)
    argv_params = params_from(parse_argv_params(argv), "argv") if ws.config.argv_params else []
    metrics_files = tuple(dict.fromkeys((*ws.config.metrics_files, *declared.metrics)))
    watched = (*tree.changed, *tree.untracked, *params_files, *metrics_files)
    return Before(
        tree=tree,
        snapshot=snapshot,
        environment=_run_environment(argv, errors) if child else capture_environment(),
        data=data,
        params=merge_params([*groups, configs, argv_params]),
        params_files=params_files,
        metrics_files=metrics_files,
        argv_params=tuple(argv_params),
        watched=frozenset(watched),
        stats={p: s for p in watched if (s := _stat(root / p)) is not None},
        errors=errors,
        row_logs=_copy_row_logs(root, ws.config.framework_logs),
    )


def read_data(
    ws: Workspace, dvc_files: Sequence[str], *, before: Sequence[DataItem] | None = None
) -> tuple[list[DataItem], list[str]]:
    """DVC hashes from `dvc.lock` and `*.dvc`, with whether the workspace matches them.

    Without `before` (the run's start) every path is checked. With it (the run's end),
    an input whose recorded hash did not change keeps its check from the start: a run
    may write into its own input folder (a cache, say) after reading it, and that does
    not make its inputs wrong. Outputs, and inputs DVC re-recorded, are checked now.
    """
    scan = dvc.read_data_refs(ws.root, dvc_files)
    kept = {
        (d.path, d.role, d.value): d
        for d in before or ()
        if d.checked == "start" and dvc.is_input(d.role, d.source)
    }
    fresh = [r for r in scan.refs if (r.path, r.role, r.value) not in kept]
    matches = dvc_match.workspace_matches(ws.root, fresh, cache_path=ws.spool_dir.parent / "hash-cache.json")
    checked = "start" if before is None else "end"
    items = [
        kept.get((r.path, r.role, r.value))
        or DataItem(
            path=r.path,
            role=r.role,
            algorithm=r.algorithm,
            value=r.value,
            size=r.size,
            nfiles=r.nfiles,
            source=r.source,
            stage=r.stage,
            workspace_match=matches.get(r.path),
            checked=checked,
            files=r.files,
        )
        for r in scan.refs
    ]
    return items, list(scan.errors)


def capture_after(ws: Workspace, before: Before, *, started_at: float) -> After:
    """Read what the run wrote: files older than the run are not its results."""
    from ledger.git import snapshot as git

    root = ws.root
    errors: list[str] = []
    with git.open_repo(root) as repo:
        tree = git.read_worktree(repo)
        dvc_files = git.list_files(repo, *DVC_FILES, untracked=tree.untracked)
        changed = (*tree.changed, *tree.untracked)
        written = [p for p in changed if _written(root / p, p, before)]
        if before.snapshot is not None:
            kept = git.same_as_in(repo, before.snapshot.commit, written)
            written = [p for p in written if p not in kept]
    data, data_errors = read_data(ws, dvc_files, before=before.data)
    errors += [e for e in data_errors if e not in before.errors]
    # Training may declare its files as it runs (DVCLive adds its own to `dvc.yaml`).
    declared = dvc.declared_files(root, dvc_files)
    params = _written_params(root, before, declared.params, started_at=started_at, errors=errors)
    values: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys((*before.metrics_files, *declared.metrics)):
        if _run_wrote(root, name, before, started_at):
            values[name], problems = read_metrics_file(root / name, label=name)
            errors += problems
    live, problems = read_dvclive_series(
        root, dvclive_dirs(values, declared.plots, changed), since=started_at
    )
    errors += problems
    plotted, problems = read_plot_series(root, declared.plots, since=started_at)
    errors += problems
    # DVC hashes its datasets itself: a walk through them would only cost time.
    datasets = [d.path for d in data if d.role == "dep" or d.source.endswith(".dvc")]
    scan = scan_outputs(root, ws.config.outputs, started_at, skip=datasets, logs=ws.config.framework_logs)
    folders = own_folders(root, scan.folders, [*written, *scan.files], before.argv_params)
    overridden = {p.key for p in before.argv_params}
    params = merge_params([params, [p for p in folders.params if p.key not in overridden]])
    written += scan.files
    errors += scan.problems + folders.problems
    # A log in a folder another run made at the same time is that run's.
    others = [
        f
        for f in scan.folders
        if not within(f, folders.folders) and not any(within(o, [f]) for o in folders.folders)
    ]
    from ledger.capture.framework_logs import epoch_tables

    found_logs = {p: t for p, t in scan.logs.items() if not within(p, others)}
    found_logs |= dict.fromkeys(epoch_tables(root, [w for w in written if w not in found_logs]), started_at)
    logs = _framework_logs(root, found_logs, before, started_at)
    errors += logs.problems
    metrics, series = cap_results(
        *_named_results({**values, **logs.values}, {**live, **logs.series}, plotted, same=logs.same), errors
    )
    before_data = {(d.path, d.value) for d in before.data}
    outputs = [
        OutputFile(path=d.path, algorithm=d.algorithm, value=d.value, size=d.size or 0)
        for d in data
        if d.role == "out" and (d.path, d.value) not in before_data
    ]
    taken = {o.path for o in outputs}
    for name in dict.fromkeys(written):
        if name not in taken:
            outputs.append(dvc_match.file_record(root, name))
    return After(
        metrics=metrics,
        series=series,
        data=data,
        outputs=outputs,
        errors=errors,
        params=params,
        run_folders=folders.folders,
    )


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
    from ledger.commits import inbox

    ws = started.workspace
    if after is None:
        after = capture_after(ws, started.before, started_at=started.started_at)
    data, size, truncated = log if log is not None else (None, 0, False)
    ended_at = time.time()
    log_series: dict[str, Points] = {}
    if data is not None and ws.config.log_metrics:
        # A key the run has as a param, or that a metrics file or DVCLive gave, is not read again.
        taken = {p.key for p in (*started.before.params, *after.params)} | {m.key for m in after.metrics}
        taken |= {key for found in after.series.values() for key in found}
        log_series, problems = log_scalars.read_stored_log(
            data, patterns=ws.config.log_metric_patterns, skip=taken, at_ms=int(ended_at * 1000)
        )
        after = dataclasses.replace(after, errors=[*after.errors, *problems])
    folder = spool.run_dir(ws.spool_dir, started.run_id)
    reads, capped = runtime.collect_reads(folder)
    inputs, problems = find_ignored_inputs(
        ws.root,
        reads,
        skip=[*(d.path for d in after.data), *(o.path for o in after.outputs), *after.run_folders],
        started_at=started.started_at,
        complete=not capped,
    )
    if problems:
        after = dataclasses.replace(after, errors=[*after.errors, *problems])
    errors = list(after.errors)
    recorded = {m.key for m in after.metrics} | {k for found in after.series.values() for k in found}
    _, log_series_kept = cap_results([], {"log": log_series}, errors, taken=len(recorded))
    end = records.RunEnd(
        status=status,
        ended_at=ended_at,
        exit_code=exit_code,
        peak_rss=peak_rss,
        metrics=after.metrics,
        params=cap_params(after.params, errors),
        outputs=after.outputs,
        data=after.data,
        capture_errors=errors,
        log=data,
        log_size=size,
        log_truncated=truncated,
        run_folders=after.run_folders,
        torch=runtime.collect(folder),
        log_series=log_series_kept.get("log", {}),
        seeds=runtime.collect_seeds(folder),
        ignored_inputs=inputs,
    )
    unsafe: list[str] = []
    series = scrub(after.series, unsafe)
    end = _scrubbed(end, unsafe)
    if started.store is None:
        run_records.write_end(folder, end, series)
        queued = False
    else:
        from ledger.delivery import outbox

        queued = outbox.finish_run(started, started.store, end, series=series)
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
    return dataclasses.replace(after, errors=list(end.capture_errors), queued=queued)


def _scrubbed(record: _R, problems: list[str] | None = None) -> _R:
    """The record with its strings made storable, and a problem line saying so."""
    problems = [] if problems is None else problems
    clean: _R = scrub(record, problems)
    if not problems:
        return clean
    return dataclasses.replace(clean, capture_errors=[*clean.capture_errors, *problems])  # type: ignore[misc]


def _run_environment(argv: Sequence[str], errors: list[str]) -> Environment:
    """The environment the run's Python code runs in, which need not be the ledger's own
    (exp-ledger installed with pipx, the project in its own virtualenv)."""
    try:
        return command_environment(argv)
    except OSError as e:
        errors.append(f"environment: {e}; recorded the ledger's own instead")
        return capture_environment()


def _read_params(root: Path, name: str, errors: list[str]) -> list[Param]:
    """One params file's values; a missing file has none, a broken one is a problem line."""
    path = root / name
    if not path.is_file():
        return []
    try:
        return params_from(read_params_file(path), name)
    except ValueError as e:
        errors.append(str(e) if str(e).startswith(name) else f"{name}: {e}")
        return []


def _products(data: Sequence[DataItem]) -> tuple[str, ...]:
    """Paths DVC records as stage outputs: what is there before a run is an earlier run's."""
    return tuple(d.path for d in data if d.role == "out")


def _within(name: str, folders: Sequence[str]) -> bool:
    return any(name == f or name.startswith(f"{f}/") for f in folders)


def _written_params(
    root: Path, before: Before, declared: Sequence[str], *, started_at: float, errors: list[str]
) -> list[Param]:
    """Params from the params files the run wrote, which only now hold its values.

    DVCLive writes the params it was given to its own `params.yaml` (and may declare
    it in `dvc.yaml` as it runs): a copy left by an earlier run is not this run's, so
    such files are read after the run, and only when this run wrote them. The command
    line still overrides them.
    """
    found = [
        param
        for name in dict.fromkeys((*before.params_files, *declared))
        if _run_wrote(root, name, before, started_at)
        for param in _read_params(root, name, errors)
    ]
    overridden = {p.key for p in before.argv_params}
    return [p for p in found if p.key not in overridden]


def _named_results(
    files: Mapping[str, Mapping[str, float]],
    live: Mapping[str, Mapping[str, Points]],
    plotted: Mapping[str, Mapping[str, Points]],
    *,
    same: Mapping[str, str] | None = None,
) -> tuple[list[Metric], dict[str, dict[str, Points]]]:
    """Final values and series under keys that never collide.

    DVCLive's series and the summary file beside them are one metric, so they share a
    key, as do the series files `same` maps to a values file (a Trainer's history and
    its results); a key two files hold is qualified by its file. Series of plain plots
    files are named apart from the metrics, and qualified only when another series has
    the name.
    """
    alias = same or {}
    origins: dict[str, set[str]] = {}
    for source in (files, live):
        for origin, keys in source.items():
            origins.setdefault(alias.get(origin, origin), set()).update(keys)
    names = shown_keys(origins)
    metrics = [
        Metric(key=names[(origin, k)], value=v, step=None, source=origin)
        for origin, found in files.items()
        for k, v in found.items()
    ]
    series = {
        origin: {names[(alias.get(origin, origin), k)]: p for k, p in found.items()}
        for origin, found in live.items()
    }
    taken = {key for found in series.values() for key in found}
    plot_names = shown_keys({origin: set(found) for origin, found in plotted.items()})
    for origin, found in plotted.items():
        for k, points in found.items():
            key = plot_names[(origin, k)]
            series.setdefault(origin, {})[f"{origin}:{k}" if key in taken else key] = points
    return metrics, series


def _copy_row_logs(root: Path, patterns: Sequence[str]) -> dict[str, bytes]:
    """What the framework logs already there hold, to tell a resumed run's rows apart."""
    from ledger.capture.framework_logs import copy_row_logs

    return copy_row_logs(root, scan_outputs(root, (), math.inf, logs=patterns).logs)


def _framework_logs(
    root: Path, found: Mapping[str, float], before: Before, started_at: float
) -> FrameworkLogs:
    from ledger.capture.framework_logs import read_framework_logs

    written = sorted(name for name, mtime in found.items() if mtime >= started_at)
    return read_framework_logs(root, written, since=started_at, copies=before.row_logs)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if path.is_file() else None


def _run_wrote(root: Path, name: str, before: Before, started_at: float) -> bool:
    """Whether the run wrote a file, for files that may or may not have been watched."""
    if name in before.watched:
        return _written(root / name, name, before)
    return _written_since(root / name, started_at)


def _written_since(path: Path, started_at: float) -> bool:
    """For files not stat'ed before the run: modified after it started."""
    try:
        return path.is_file() and path.stat().st_mtime >= started_at
    except OSError:
        return False


def _written(path: Path, name: str, before: Before) -> bool:
    """A file the run created or changed: its stat differs from the one taken before."""
    now = _stat(path)
    return now is not None and now != before.stats.get(name)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None
