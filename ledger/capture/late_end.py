"""The end of a run whose `ledger run` wrapper was killed (kill -9, the OOM killer).

The wrapper takes a run's end from what the run left: the scalars its log printed, its
metrics files and framework logs, the params in configs it wrote, its outputs and its
own folder (`ledger.capture.run_end`). Killed, it cannot. So as the run
starts it keeps what that capture needs and only it knew (the `Before` state, the start
time, the repository) in the run's spool folder, and whoever finds the run dead
(`ledger.delivery.liveness`) takes the same end from there, as of when the run ended.
"""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.capture.child.sitecustomize import SEEDS_PREFIX
from ledger.capture.log_tee import compress_log
from ledger.capture.run_end import end_of_run, tell_hooks
from ledger.delivery import spool
from ledger.store.workspace import locate

if TYPE_CHECKING:
    from ledger.capture.before import Before
    from ledger.core.chunks import Points
    from ledger.core.ids import RunId
    from ledger.core.records import RunEnd

BEFORE = "before.pickle"
"""What the end of a run needs from its start, in its spool folder."""


@dataclass(frozen=True, slots=True)
class _Kept:
    root: str
    started_at: float
    before: Before


def keep_before(folder: Path, root: Path, started_at: float, before: Before) -> None:
    """Keep what the run's end is read against, in case its wrapper does not live to read it.

    Not fsync'ed: the start of every run pays for this, and a copy a power cut tore
    only means a killed run's end keeps what its spool holds, as without it.
    """
    kept = pickle.dumps(_Kept(str(root), started_at, before), protocol=pickle.HIGHEST_PROTOCOL)
    part = folder / f".{BEFORE}.part"
    part.write_bytes(kept)
    part.replace(folder / BEFORE)


def has_before(folder: Path) -> bool:
    """Whether the run in `folder` kept its start for a late end (a `ledger run`)."""
    return (folder / BEFORE).is_file()


def late_end(
    folder: Path, run_id: RunId, *, status: str, ended_at: float, until: float
) -> tuple[RunEnd, dict[str, dict[str, Points]]]:
    """The end the run's wrapper would have recorded, read from what is on disk now.

    `ended_at` is when the run last showed life; files changed after `until` (when the
    next run started, or now) are not counted as its. Its processes' seeds are known
    only if one reported them: they do at exit, which a killed command never reaches.
    """
    kept: _Kept = pickle.loads((folder / BEFORE).read_bytes())  # noqa: S301 - our own file, in .git
    root = Path(kept.root)
    ws = dataclasses.replace(locate(root, need_repo=True), spool_dir=folder.parent)
    raw = (folder / spool.LOG_NAME).read_bytes() if (folder / spool.LOG_NAME).is_file() else None
    log = None if raw is None else (compress_log(raw), len(raw), False)
    after, end, series = end_of_run(
        ws,
        run_id,
        kept.before,
        started_at=kept.started_at,
        status=status,
        log=log,
        ended_at=ended_at,
        until=until,
        seeds_unreported=not any(folder.glob(f"{SEEDS_PREFIX}*.json")),
    )
    tell_hooks(ws, run_id, kept.before, after, status=status)
    return end, series
