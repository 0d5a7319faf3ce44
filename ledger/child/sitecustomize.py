"""Loaded at start-up by every Python process of a `ledger run` (through PYTHONPATH).

At exit, a process that imported torch reports which torch it ran and the CUDA devices
it had, to the run's spool folder. The ledger never imports torch to find out itself:
that costs seconds and may create a CUDA context. A process that never imports torch
pays for `atexit` and `os`, nothing more. Standard library only, because the run may use
an interpreter without exp-ledger installed. A `sitecustomize` this one shadows (a
distribution's, a user's) is still run.
"""

from __future__ import annotations

import atexit
import os
import sys

RUNTIME_DIR_VAR = "LEDGER_RUNTIME_DIR"
"""The spool folder reports go to; set by `ledger run` along with PYTHONPATH."""
REPORT_PREFIX = "torch-"


def probe_torch() -> dict[str, object] | None:
    """The imported torch's build and devices, or None if this process has no torch.

    Device names are read only when the process initialised CUDA itself: asking an
    unused GPU its name creates a CUDA context (seconds, and GPU memory).
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a CUDA build without a driver warns here
            cuda = torch.cuda
            available = bool(cuda.is_available())
            count = int(cuda.device_count()) if available else 0
            used = available and bool(cuda.is_initialized())
            names = [str(cuda.get_device_name(i)) for i in range(count)] if used else []
        return {
            "version": str(torch.__version__),
            "cuda_build": getattr(torch.version, "cuda", None),
            "cuda_available": available,
            "device_count": count,
            "cuda_used": used,
            "devices": names,
        }
    except Exception:  # noqa: BLE001 - a half-imported or unusual torch: no report
        return None


def _report(folder: str) -> None:
    try:
        mp = sys.modules.get("multiprocessing")
        if mp is not None and mp.parent_process() is not None:
            return  # a DataLoader or pool worker: its parent reports
        info = probe_torch()
        if info is None:
            return
        import json
        from pathlib import Path  # torch has imported it already

        path = Path(folder) / f"{REPORT_PREFIX}{os.getpid()}.json"
        part = path.with_suffix(".part")
        part.write_text(json.dumps(info), encoding="utf-8")
        part.replace(path)
    except Exception:  # noqa: BLE001, S110 - the run's exit must never fail because of the ledger
        pass


def _run_shadowed() -> None:
    """Run the `sitecustomize` this one hides further along the path, if there is one."""
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))  # noqa: PTH100, PTH120 - stdlib only, cheap
    # Our folder's job is done once Python has found this file: the script never sees it.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]  # noqa: PTH100
    this = sys.modules.pop(__name__, None)
    if importlib.util.find_spec("sitecustomize") is not None:
        import sitecustomize  # type: ignore[import-not-found]  # noqa: F401 - importing it runs it
    elif this is not None:
        sys.modules[__name__] = this


if __name__ == "sitecustomize":
    _folder = os.environ.get(RUNTIME_DIR_VAR)
    if _folder:
        atexit.register(_report, _folder)
    _run_shadowed()
