"""What a run starts from: its code snapshot, data hashes, environment and params, and
the stat of each file it may write, to tell at its end which files it wrote."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.capture.config_params import read_named_configs
from ledger.capture.data import DVC_FILES, read_data
from ledger.capture.environment import capture_environment, run_environment
from ledger.capture.framework_logs import copy_row_logs
from ledger.capture.outputs import scan_outputs
from ledger.capture.params import merge_params, params_from, parse_argv_params, read_params_at
from ledger.capture.run_folder import within
from ledger.core.errors import LedgerError
from ledger.dvc import files as dvc
from ledger.git import snapshot as git
from ledger.git.refs import snapshot_ref
from ledger.setup.own_setup import only_own_setup

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.core.ids import RunId
    from ledger.core.lockfile import Environment
    from ledger.core.records import DataItem, Param
    from ledger.git.snapshot import Snapshot, WorkTree
    from ledger.store.workspace import Workspace


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

    def wrote(self, root: Path, name: str, started_at: float) -> bool:
        """Whether the run wrote a file, for files that may or may not have been watched."""
        if name in self.watched:
            return self.changed(root, name)
        return _written_since(root / name, started_at)

    def changed(self, root: Path, name: str) -> bool:
        """A file the run created or changed: its stat differs from the one taken before."""
        now = _stat(root / name)
        return now is not None and now != self.stats.get(name)


def capture_before(ws: Workspace, run_id: RunId, argv: Sequence[str], *, child: bool = False) -> Before:
    """Snapshot the code and read data hashes, environment and params.

    `child`: `argv` is a command about to run (`ledger run`), whose environment is the
    one its interpreter sees; otherwise the run is this process, in this interpreter.

    Problems with the user's files become lines in the record, never a lost run.
    """
    errors: list[str] = []
    root = ws.root
    with git.open_repo(root) as repo:
        tree = git.read_worktree(repo)
        try:
            snapshot: Snapshot | None = git.make_snapshot(
                repo,
                tree,
                ref=snapshot_ref(run_id),
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
    groups = [read_params_at(root, name, errors) for name in params_files if not within(name, products)]
    configs = read_named_configs(argv, cwd=Path.cwd(), root=root, errors=errors)
    argv_params = params_from(parse_argv_params(argv), "argv") if ws.config.argv_params else []
    metrics_files = tuple(dict.fromkeys((*ws.config.metrics_files, *declared.metrics)))
    watched = (*tree.changed, *tree.untracked, *params_files, *metrics_files)
    return Before(
        tree=tree,
        snapshot=snapshot,
        environment=run_environment(argv, errors) if child else capture_environment(),
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


def _products(data: Sequence[DataItem]) -> tuple[str, ...]:
    """Paths DVC records as stage outputs: what is there before a run is an earlier run's."""
    return tuple(d.path for d in data if d.role == "out")


def _copy_row_logs(root: Path, patterns: Sequence[str]) -> dict[str, bytes]:
    """What the framework logs already there hold, to tell a resumed run's rows apart."""
    return copy_row_logs(root, scan_outputs(root, (), math.inf, logs=patterns).logs)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size) if path.is_file() else None


def _written_since(path: Path, started_at: float) -> bool:
    """For files not stat'ed before the run: modified after it started."""
    try:
        return path.is_file() and path.stat().st_mtime >= started_at
    except OSError:
        return False
