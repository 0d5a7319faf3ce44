"""What the detail tabs load off the event loop: series, workspace hashes, the environment.

Plain functions over `ledger` reads, called from the detail screen's thread workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.core.errors import LedgerError
from ledger.read import queries

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.core.chunks import Points
    from ledger.core.lockfile import Environment
    from ledger.core.records import RunDetail
    from ledger.store.engine import Store


def load_series(store: Store, detail: RunDetail) -> tuple[dict[str, Points], dict[str, str]]:
    """Every series of the run, and why any could not be shown."""
    series: dict[str, Points] = {}
    problems: dict[str, str] = {}
    for key in detail.series_keys:
        try:
            points = queries.get_series(store, detail.summary.id, key)
        except (ValueError, LedgerError) as e:  # a damaged chunk: ValueError from its decoder
            problems[key] = f"cannot be read ({e})"
            continue
        if len(points):
            series[key] = points
        else:
            problems[key] = "no points stored"
    return series, problems


def check_workspace(
    root: Path | None, detail: RunDetail, *, cache: Path | None
) -> tuple[dict[str, bool | None], str | None]:
    """Whether the work tree holds each recorded data hash now (DVC's own hashing rules)."""
    from ledger.dvc import files as dvc_files
    from ledger.dvc import match as dvc_match

    if not detail.data:
        return {}, None
    if root is None:
        return {}, "not inside the run's repository: the workspace cannot be checked"
    refs = [
        dvc_files.DataRef(
            d.path,
            d.algorithm,
            d.value,
            d.size,
            d.nfiles,
            d.source,
            d.stage,
            "out" if d.role == "out" else "dep",
            d.files,
        )
        for d in detail.data
    ]
    try:
        return dvc_match.workspace_matches(root, refs, cache_path=cache), None
    except (LedgerError, OSError) as e:
        return {}, f"cannot check the workspace: {e}"


def load_environment(store: Store, detail: RunDetail) -> tuple[Environment | None, str | None]:
    """The run's lockfile, or why there is none to show."""
    if detail.environment_digest is None:
        return None, "this run recorded no environment"
    try:
        env = queries.get_environment(store, detail.environment_digest)
    except LedgerError as e:
        return None, str(e)
    return env, None if env is not None else "the environment record is missing"
