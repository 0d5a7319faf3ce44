"""The end of a run as its wrapper records it: what the run left (`ledger.capture.after`),
the scalars its log printed, the files git ignores that it read, its seeds and torch,
made into one end record; shared by a wrapper that saw its command end and by the
reaper of one that was killed (`ledger.capture.late_end`)."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, TypeVar

from ledger.capture import log_scalars, runtime
from ledger.capture.after import After, capture_after
from ledger.capture.caps import cap_params, cap_results, scrub
from ledger.capture.ignored_inputs import find_ignored_inputs
from ledger.capture.seeds import SEEDS_UNREPORTED
from ledger.commits import inbox
from ledger.core import records
from ledger.delivery import spool

if TYPE_CHECKING:
    from ledger.capture.before import Before
    from ledger.core.chunks import Points
    from ledger.core.ids import RunId
    from ledger.core.records import RunEnd
    from ledger.store.workspace import Workspace

_R = TypeVar("_R", records.NewRun, records.RunEnd)


def end_of_run(
    ws: Workspace,
    run_id: RunId,
    before: Before,
    *,
    started_at: float,
    status: str,
    exit_code: int | None = None,
    peak_rss: int | None = None,
    log: tuple[bytes, int, bool] | None = None,
    after: After | None = None,
    ended_at: float | None = None,
    until: float | None = None,
    seeds_unreported: bool = False,
) -> tuple[After, RunEnd, dict[str, dict[str, Points]]]:
    """The run's end record and the series its files held, as its wrapper's end takes them.

    `ended_at` and `until` are given when the run ended before now (its wrapper was
    killed): files changed after `until` are another run's, not this one's.
    `seeds_unreported`: the run's processes never said which seeds they set, so the
    record says they are unknown.
    """
    if after is None:
        after = capture_after(ws, before, started_at=started_at, until=until)
    data, size, truncated = log if log is not None else (None, 0, False)
    if ended_at is None:
        ended_at = time.time()
    log_series: dict[str, Points] = {}
    if data is not None and ws.config.log_metrics:
        # A key the run has as a param, or that a metrics file or DVCLive gave, is not read
        # again, though several files held it and it was recorded as `<file>:<key>`.
        taken = {p.key for p in (*before.params, *after.params)}
        taken |= {m.key.removeprefix(f"{m.source}:") for m in after.metrics}
        taken |= {key.removeprefix(f"{origin}:") for origin, found in after.series.items() for key in found}
        log_series, problems = log_scalars.read_stored_log(
            data, patterns=ws.config.log_metric_patterns, skip=taken, at_ms=int(ended_at * 1000)
        )
        after = dataclasses.replace(after, errors=[*after.errors, *problems])
    folder = spool.run_dir(ws.spool_dir, run_id)
    reads, capped = runtime.collect_reads(folder)
    inputs, problems = find_ignored_inputs(
        ws.root,
        reads,
        skip=[*(d.path for d in after.data), *(o.path for o in after.outputs), *after.run_folders],
        started_at=started_at,
        complete=not capped,
    )
    if problems:
        after = dataclasses.replace(after, errors=[*after.errors, *problems])
    errors = list(after.errors)
    if seeds_unreported:
        errors.append(SEEDS_UNREPORTED)
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
    return after, scrubbed(end, unsafe), series


def tell_hooks(ws: Workspace, run_id: RunId, before: Before, after: After, *, status: str) -> None:
    """Name the run to the git hooks, so the commit that holds its code links it."""
    snapshot = before.snapshot
    if ws.repo is not None and snapshot is not None:
        inbox.remember_run(
            ws.repo.common_dir,
            {
                "id": run_id,
                "snapshot": snapshot.commit,
                "tree": snapshot.tree,
                "commit": None if before.tree is None else before.tree.commit,
                "outputs": sorted({o.path for o in after.outputs} | {m.source for m in after.metrics}),
                "status": status,
                "ended_at": time.time(),
            },
        )


def scrubbed(record: _R, problems: list[str] | None = None) -> _R:
    """The record with its strings made storable, and a problem line saying so."""
    problems = [] if problems is None else problems
    clean: _R = scrub(record, problems)
    if not problems:
        return clean
    return dataclasses.replace(clean, capture_errors=[*clean.capture_errors, *problems])  # type: ignore[misc]
