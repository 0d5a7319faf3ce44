"""A run's data: the hashes DVC recorded for it, and whether the workspace holds them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.core.records import DataItem
from ledger.dvc import files as dvc
from ledger.dvc import match as dvc_match

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.store.workspace import Workspace

DVC_FILES = ("*.dvc", "dvc.lock", "*/dvc.lock", "dvc.yaml", "*/dvc.yaml")
"""Pathspecs of the files DVC keeps its hashes and declarations in."""


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
