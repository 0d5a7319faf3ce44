"""What a run left behind: metrics files, step series, framework logs, params it wrote,
data and outputs; only files it wrote count, older ones are not its results."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.capture.caps import cap_results
from ledger.capture.data import DVC_FILES, read_data
from ledger.capture.framework_logs import epoch_tables, read_framework_logs
from ledger.capture.metrics_files import (
    dvclive_dirs,
    read_dvclive_series,
    read_metrics_file,
    read_plot_series,
    shown_keys,
)
from ledger.capture.outputs import scan_outputs
from ledger.capture.params import merge_params, read_params_at
from ledger.capture.run_folder import own_folders, within
from ledger.core.records import Metric, OutputFile
from ledger.dvc import files as dvc
from ledger.dvc import match as dvc_match
from ledger.git import snapshot as git

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from ledger.capture.before import Before
    from ledger.capture.framework_logs import FrameworkLogs
    from ledger.core.chunks import Points
    from ledger.core.records import DataItem, Param
    from ledger.store.workspace import Workspace


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


def capture_after(ws: Workspace, before: Before, *, started_at: float, until: float | None = None) -> After:
    """Read what the run wrote: files older than the run are not its results.

    `until` is the end of a run captured after the fact (its wrapper was killed): a
    file changed after it is another run's, whatever it holds.
    """
    root = ws.root
    errors: list[str] = []
    with git.open_repo(root) as repo:
        tree = git.read_worktree(repo)
        dvc_files = git.list_files(repo, *DVC_FILES, untracked=tree.untracked)
        changed = (*tree.changed, *tree.untracked)
        changed = tuple(p for p in changed if _by(root, p, until))
        written = [p for p in changed if before.changed(root, p)]
        if before.snapshot is not None:
            kept = git.same_as_in(repo, before.snapshot.commit, written)
            written = [p for p in written if p not in kept]
    data, data_errors = read_data(ws, dvc_files, before=before.data)
    errors += [e for e in data_errors if e not in before.errors]
    # Training may declare its files as it runs (DVCLive adds its own to `dvc.yaml`).
    declared = dvc.declared_files(root, dvc_files)
    params = _written_params(root, before, declared.params, started_at=started_at, until=until, errors=errors)
    values: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys((*before.metrics_files, *declared.metrics)):
        if before.wrote(root, name, started_at) and _by(root, name, until):
            values[name], problems = read_metrics_file(root / name, label=name)
            errors += problems
    live, problems = read_dvclive_series(
        root, dvclive_dirs(values, declared.plots, changed), since=started_at, until=until
    )
    errors += problems
    plotted, problems = read_plot_series(root, declared.plots, since=started_at, until=until)
    errors += problems
    # DVC hashes its datasets itself: a walk through them would only cost time.
    datasets = [d.path for d in data if d.role == "dep" or d.source.endswith(".dvc")]
    scan = scan_outputs(root, ws.config.outputs, started_at, skip=datasets, logs=ws.config.framework_logs)
    scan = dataclasses.replace(
        scan,
        files=[f for f in scan.files if _by(root, f, until)],
        folders=[f for f in scan.folders if _by(root, f, until)],
        logs={p: t for p, t in scan.logs.items() if until is None or t <= until},
    )
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


def _written_params(
    root: Path,
    before: Before,
    declared: Sequence[str],
    *,
    started_at: float,
    until: float | None,
    errors: list[str],
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
        if before.wrote(root, name, started_at) and _by(root, name, until)
        for param in read_params_at(root, name, errors)
    ]
    overridden = {p.key for p in before.argv_params}
    return [p for p in found if p.key not in overridden]


def _by(root: Path, name: str, until: float | None) -> bool:
    """Whether `name` was last changed by `until` (always, without one)."""
    if until is None:
        return True
    try:
        return (root / name).stat().st_mtime <= until
    except OSError:
        return False


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


def _framework_logs(
    root: Path, found: Mapping[str, float], before: Before, started_at: float
) -> FrameworkLogs:
    written = sorted(name for name, mtime in found.items() if mtime >= started_at)
    return read_framework_logs(root, written, since=started_at, copies=before.row_logs)
