"""PyTorch determinism for ledger runs: one seed everywhere, deterministic kernels, versions
recorded, checkpoints hashed, metrics logged through the ledger's API.

Optional (`pip install 'exp-ledger[torch]'`) and imported only by training scripts::

    import ledger.torch as lt

    seed = lt.seed_everything(params["seed"])  # under `ledger reproduce`: the recorded seed
    ...
    lt.log_metrics({"loss": loss, "val_acc": acc}, step=epoch)  # tensors are fine
    lt.save(model.state_dict(), "models/model.pt")               # hashed into the outputs

On a CPU, a script that does this reproduces bit for bit (same torch, same thread
count); on a GPU, as far as PyTorch's deterministic algorithms reach.
"""

from __future__ import annotations

import os
import random
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ledger import api
from ledger.capture.seeds import reproduction_seeds

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ledger.core.records import OutputFile

SEED_KEY = "seed"
"""Key of the seed in `runs.seeds`."""

CUBLAS_WORKSPACE = ":4096:8"
"""cuBLAS needs a fixed workspace for deterministic results (CUDA >= 10.2); see
https://docs.nvidia.com/cuda/cublas/index.html#results-reproducibility"""


def seed_everything(
    seed: int | None = None, *, deterministic: bool = True, warn_only: bool = False, record: bool = True
) -> int:
    """Seed `random`, NumPy (if installed) and torch (CPU and every GPU) from one seed.

    Under `ledger reproduce` the original run's recorded seed wins, so a seed the
    script drew at random comes back. Without a seed, one is drawn and recorded.

    Args:
        seed: the script's seed (say, from params.yaml).
        deterministic: turn on `torch.use_deterministic_algorithms` and cuDNN's
            deterministic mode (an op with no deterministic version then raises).
        warn_only: with `deterministic`, warn instead of raising for such ops.
        record: record the seed and the torch setup (versions, device) in the run.

    Returns:
        The seed used.
    """
    recorded = reproduction_seeds().get(SEED_KEY)
    if isinstance(recorded, int) and not isinstance(recorded, bool):
        if seed is not None and seed != recorded:
            sys.stderr.write(f"ledger.torch: reproducing with the recorded seed {recorded}, not {seed}\n")
        seed = recorded
    if seed is None:
        seed = secrets.randbelow(2**32)
    random.seed(seed)
    _seed_numpy(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too
    if deterministic:
        set_deterministic(warn_only=warn_only)
    if record:
        _log_seeds({SEED_KEY: seed})
        api.log_params({f"torch.{k}": v for k, v in describe().items()})
    return seed


def set_deterministic(*, warn_only: bool = False) -> None:
    """Make torch choose deterministic kernels (and say so when one has none)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False  # autotuning picks kernels by timing: not repeatable


def describe() -> dict[str, str | int | bool | None]:
    """Versions and device a result depends on: torch, CUDA, cuDNN, device, threads."""
    cuda = torch.cuda.is_available()
    backend = torch.backends.cudnn
    # torch's cudnn module is untyped; both calls return plain values.
    cudnn = backend.version() if backend.is_available() else None  # type: ignore[no-untyped-call]
    return {
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": None if cudnn is None else str(cudnn),
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "threads": torch.get_num_threads(),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }


def log_metrics(metrics: Mapping[str, float | torch.Tensor], step: int | None = None) -> None:
    """`ledger.log_metrics`, accepting one-element tensors (moved to the CPU once each)."""
    api.log_metrics(
        {k: float(v.item()) if isinstance(v, torch.Tensor) else v for k, v in metrics.items()}, step
    )


def save(obj: Any, path: str | os.PathLike[str]) -> OutputFile:
    """`torch.save`, then record the file's hash in the run's outputs.

    torch writes the same bytes for the same tensors saved to the same file name,
    so equal hashes mean bit-identical checkpoints.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, target)
    return log_checkpoint(target)


def log_checkpoint(path: str | os.PathLike[str]) -> OutputFile:
    """Hash a saved file (md5, as DVC does) into the run's outputs, by repo-relative path."""
    from ledger.core.records import OutputFile
    from ledger.dvc.match import hash_file
    from ledger.store import annotate

    full = Path(path).resolve()
    output = OutputFile(
        path=_repo_path(full), algorithm="md5", value=hash_file(full), size=full.stat().st_size
    )
    api.for_current_run(lambda store, run_id: annotate.add_outputs(store, run_id, [output]))
    return output


def _seed_numpy(seed: int) -> None:
    try:
        import numpy as np
    except ImportError:
        return
    np.random.seed(seed % 2**32)


def _repo_path(path: Path) -> str:
    """The path as `ledger run` records outputs: relative to the work tree's top."""
    from ledger.git.command import find_repo

    repo = find_repo(path.parent)
    if repo is not None and path.is_relative_to(repo.toplevel.resolve()):
        return path.relative_to(repo.toplevel.resolve()).as_posix()
    return str(path)


def _log_seeds(seeds: Mapping[str, object]) -> None:
    """Record seeds into the current run (merged with those already recorded)."""
    from ledger.store import annotate

    chosen = dict(seeds)
    api.for_current_run(lambda store, run_id: annotate.add_seeds(store, run_id, chosen))
