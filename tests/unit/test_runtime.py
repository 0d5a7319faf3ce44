"""How `ledger show` words the torch a run had: the build is not the device."""

from __future__ import annotations

import pytest

from ledger.core.lockfile import Environment
from ledger.core.torch_runtime import TorchRuntime, describe


def _env(torch: str | None, cuda: str | None) -> Environment:
    return Environment("3.11.7", "CPython", "Linux-x86_64", (), torch=torch, cuda=cuda)


@pytest.mark.parametrize(
    ("runtime", "line"),
    [
        (
            TorchRuntime("2.5.1+cu121", "12.1", cuda_available=False, device_count=0, cuda_used=False),
            "2.5.1+cu121 (CUDA 12.1 build), CUDA not available",
        ),
        (
            TorchRuntime("2.13.0+cpu", None, cuda_available=False, device_count=0, cuda_used=False),
            "2.13.0+cpu (CPU build), no CUDA device",
        ),
        (
            TorchRuntime("2.5.1", "12.4", cuda_available=True, device_count=2, cuda_used=False),
            "2.5.1 (CUDA 12.4 build), 2 CUDA devices available, not used by the run",
        ),
        (
            TorchRuntime(
                "2.5.1", "12.4", cuda_available=True, device_count=1, cuda_used=True, devices=("NVIDIA A100",)
            ),
            "2.5.1 (CUDA 12.4 build), used 1 CUDA device: NVIDIA A100",
        ),
    ],
)
def test_the_run_says_what_it_had(runtime: TorchRuntime, line: str) -> None:
    assert describe(_env("2.5.1+cu121", "13.0"), runtime) == line


def test_without_a_report_only_the_installed_build_is_named() -> None:
    line = describe(_env("2.9.0", "13.0"), None)

    assert line == "2.9.0 (CUDA 13.0 build); the run did not report importing torch"
    assert describe(_env(None, None), None) is None


def test_the_stored_value_round_trips_and_junk_is_none() -> None:
    runtime = TorchRuntime(
        "2.5.1", "12.4", cuda_available=True, device_count=1, cuda_used=True, devices=("T4",)
    )

    assert TorchRuntime.from_json(runtime.to_json()) == runtime
    assert TorchRuntime.from_json("{not json") is None
    assert TorchRuntime.from_json('{"version": "2.5.1"}') is None
    assert TorchRuntime.from_json(None) is None
