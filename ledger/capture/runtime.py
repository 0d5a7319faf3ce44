"""What torch had in a run: the build it imported and the CUDA devices it saw.

The environment lockfile says which torch is installed (read from files, without
importing it); only the run's own process can say whether CUDA was there. Under
`ledger run`, each Python process of the run reports at exit if it imported torch
(`ledger.capture.child.sitecustomize`, put on the child's PYTHONPATH); a run made with the
API in this process is asked directly at its end.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.capture.child.sitecustomize import (
    READS_CAP,
    READS_PREFIX,
    REPORT_PREFIX,
    ROOT_VAR,
    RUNTIME_DIR_VAR,
    SEEDS_PREFIX,
    probe_torch,
)
from ledger.core.torch_runtime import TorchRuntime

if TYPE_CHECKING:
    from collections.abc import Mapping

_HOOK_DIR = str(Path(__file__).resolve().parent / "child")


def child_env(folder: Path, environ: Mapping[str, str], *, root: Path) -> dict[str, str]:
    """The variables that make a run's Python processes report to `folder`: their torch,
    their seeds, and the files under `root` they read."""
    path = environ.get("PYTHONPATH")
    return {
        RUNTIME_DIR_VAR: str(folder),
        ROOT_VAR: str(root),
        "PYTHONPATH": _HOOK_DIR if not path else f"{_HOOK_DIR}{os.pathsep}{path}",
    }


def collect_seeds(folder: Path) -> dict[str, object]:
    """The seeds the run's processes set (`random.seed`: 42, ...); a later process's win."""
    seeds: dict[str, object] = {}
    for path in sorted(folder.glob(f"{SEEDS_PREFIX}*.json"), key=_mtime):
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(found, dict):
            seeds.update({str(k): v for k, v in found.items()})
    return seeds


def collect_reads(folder: Path) -> tuple[list[str], bool]:
    """The files under the repository the run's processes opened for reading, and whether
    a process reached the cap (then the list is not all of them)."""
    found: dict[str, None] = {}
    full = False
    for path in sorted(folder.glob(f"{READS_PREFIX}*.txt"), key=_mtime):
        try:
            lines = path.read_bytes().decode("utf-8", "surrogateescape").splitlines()
        except OSError:
            continue
        full = full or len(lines) >= READS_CAP
        found.update(dict.fromkeys(lines))
    return list(found), full


def collect(folder: Path) -> TorchRuntime | None:
    """What the run's processes reported in its spool `folder`, else what this process's
    torch says (a run made with the API), else None: torch was not imported.

    Of several reports (a pipeline's stages), the one of a process that used CUDA wins.
    """
    reports = []
    for path in sorted(folder.glob(f"{REPORT_PREFIX}*.json"), key=_mtime):
        try:
            runtime = TorchRuntime.from_report(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if runtime is not None:
            reports.append(runtime)
    if not reports and "torch" in sys.modules:
        here = TorchRuntime.from_report(probe_torch())
        reports += [] if here is None else [here]
    used = [r for r in reports if r.cuda_used]
    chosen = used or reports
    return chosen[-1] if chosen else None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
