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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.capture.child.sitecustomize import (
    READS_CAP,
    READS_PREFIX,
    REPORT_PREFIX,
    ROOT_VAR,
    RUNTIME_DIR_VAR,
    SEEDS_PREFIX,
    probe_torch,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ledger.capture.environment import Environment

_HOOK_DIR = str(Path(__file__).resolve().parent / "child")


@dataclass(frozen=True, slots=True)
class TorchRuntime:
    """The torch a run's process imported, and the CUDA devices it had."""

    version: str
    cuda_build: str | None
    """The CUDA version torch was built for; None for a CPU build."""
    cuda_available: bool
    device_count: int
    cuda_used: bool
    """The run initialised CUDA (put something on a GPU)."""
    devices: tuple[str, ...] = ()
    """Device names, read only when the run used CUDA (asking costs a CUDA context)."""

    def to_json(self) -> str:
        """JSON as stored in the ledger."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> TorchRuntime | None:
        """The stored value back; None for runs without one (or an unreadable one)."""
        if not text:
            return None
        try:
            return cls.from_report(json.loads(text))
        except ValueError:
            return None

    @classmethod
    def from_report(cls, data: Any) -> TorchRuntime | None:
        """A report of `probe_torch`; None if it is not one."""
        try:
            return cls(
                version=str(data["version"]),
                cuda_build=None if data["cuda_build"] is None else str(data["cuda_build"]),
                cuda_available=bool(data["cuda_available"]),
                device_count=int(data["device_count"]),
                cuda_used=bool(data["cuda_used"]),
                devices=tuple(str(d) for d in data["devices"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


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


def describe(env: Environment | None, runtime: TorchRuntime | None) -> str | None:
    """`torch 2.5.1+cpu (CPU build), no CUDA device`-style line for `ledger show`."""
    if runtime is None:
        if env is None or env.torch is None:
            return None
        return f"{env.torch} ({_build(env.cuda)}); the run did not report importing torch"
    build = f"{runtime.version} ({_build(runtime.cuda_build)})"
    if runtime.cuda_build is None:
        return f"{build}, no CUDA device"
    if not runtime.cuda_available:
        return f"{build}, CUDA not available"
    count = f"{runtime.device_count} CUDA device{'s' if runtime.device_count != 1 else ''}"
    if not runtime.cuda_used:
        return f"{build}, {count} available, not used by the run"
    return f"{build}, used {count}: {', '.join(runtime.devices)}"


def _build(cuda: str | None) -> str:
    return "CPU build" if cuda is None else f"CUDA {cuda} build"


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
