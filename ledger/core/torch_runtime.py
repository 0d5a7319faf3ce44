"""The torch a run's process imported and the CUDA devices it saw, as the ledger keeps it.

The record only: `ledger.capture.runtime` collects it from the run's processes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.core.lockfile import Environment


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
        """A report of `ledger.capture.child.sitecustomize.probe_torch`; None if it is not one."""
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
