"""Loaded at start-up by every Python process of a `ledger run` (through PYTHONPATH).

It tells the ledger three things only the run's own processes know, in the run's spool folder:
- at exit, a process that imported torch reports which torch it ran and the CUDA devices it
  had (the ledger never imports torch to find out itself: that costs seconds and may
  create a CUDA context);
- at exit, the seeds the process set: calls of `random.seed`, `numpy.random.seed` /
  `default_rng` and `torch.manual_seed` (Lightning's and Hugging Face's `seed_everything`
  / `set_seed` call these), so a run that set none says so, and its reproduction's drift
  is not a surprise;
- as it goes, each file under the repository it opened for reading (Python's audit hook),
  so files git ignores and DVC does not track, which a reproduction's worktree lacks, are
  named (`ledger.capture.ignored_inputs`).
The seed functions are wrapped once their module is imported, never by importing it here.
Standard library only, because the run may use an interpreter without exp-ledger
installed. A `sitecustomize` this one shadows (a distribution's, a user's) is still run.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys

RUNTIME_DIR_VAR = "LEDGER_RUNTIME_DIR"
"""The spool folder reports go to; set by `ledger run` along with PYTHONPATH."""
ROOT_VAR = "LEDGER_RUN_ROOT"
"""The repository whose files' reads are noted."""
REPORT_PREFIX = "torch-"
SEEDS_PREFIX = "seeds-"
READS_PREFIX = "reads-"
READS_CAP = 5000
"""Files noted per process: a data set of many small files is named by its first ones."""

_seeds: dict[str, object] = {}
_reads: set[str] = set()
_state: dict[str, object] = {"fd": None, "busy": False}


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


def _note_seed(name: str, value: object) -> None:
    if value is None:
        return
    plain = isinstance(value, int | float | str) and not isinstance(value, bool)
    _seeds[name] = value if plain else repr(value)[:80]


def _wrap(owner: object, attr: str, name: str, *, method: bool = False) -> None:
    """Replace `owner.attr` by a function noting its seed argument, then calling it."""
    import functools

    original = getattr(owner, attr, None)
    if original is None or getattr(original, "__ledger_seed__", False):
        return

    @functools.wraps(original)
    def wrapper(*args: object, **kwargs: object) -> object:
        given = args[1:] if method else args
        _note_seed(name, given[0] if given else next(iter(kwargs.values()), None))
        return original(*args, **kwargs)

    wrapper.__ledger_seed__ = True  # type: ignore[attr-defined]
    setattr(owner, attr, wrapper)


def _patch_random(module: object) -> None:
    _wrap(module.Random, "seed", "random.seed", method=True)  # type: ignore[attr-defined]
    _wrap(module, "seed", "random.seed")


def _patch_numpy(module: object) -> None:
    _wrap(module, "seed", "numpy.random.seed")
    _wrap(module, "default_rng", "numpy.random.default_rng")


def _patch_torch(module: object) -> None:
    _wrap(module, "manual_seed", "torch.manual_seed")


_PATCHES = {"random": _patch_random, "numpy.random": _patch_numpy, "torch": _patch_torch}


class _Patching:
    """A module's loader that patches the module once it has run."""

    def __init__(self, loader: object, patch: object) -> None:
        self._loader, self._patch = loader, patch

    def create_module(self, spec: object) -> object:
        return self._loader.create_module(spec)  # type: ignore[attr-defined]

    def exec_module(self, module: object) -> None:
        self._loader.exec_module(module)  # type: ignore[attr-defined]
        module.__loader__ = self._loader  # type: ignore[attr-defined]
        module.__spec__.loader = self._loader  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):  # an unusual module is left as it is
            self._patch(module)  # type: ignore[operator]

    def __getattr__(self, name: str) -> object:
        return getattr(self._loader, name)


class _SeedWatch:
    """First on `sys.meta_path`: hands the seeding modules a patching loader, and nothing else."""

    @classmethod
    def find_spec(cls, name: str, path: object = None, target: object = None) -> object:
        patch = _PATCHES.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if find is None or find == cls.find_spec else find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if getattr(spec.loader, "exec_module", None) is not None:
            spec.loader = _Patching(spec.loader, patch)
        return spec


def _write_seeds(folder: str) -> None:
    try:
        mp = sys.modules.get("multiprocessing")
        if not _seeds or (mp is not None and mp.parent_process() is not None):
            return
        import json

        path = os.path.join(folder, f"{SEEDS_PREFIX}{os.getpid()}.json")  # noqa: PTH118
        with open(path + ".part", "w", encoding="utf-8") as f:  # noqa: PTH123
            json.dump(_seeds, f)
        os.replace(path + ".part", path)  # noqa: PTH105 - pathlib is not loaded in every process
    except Exception:  # noqa: BLE001, S110 - the run's exit must never fail because of the ledger
        pass


def _watch_reads(folder: str, root: str) -> None:
    """Note each file under `root` opened for reading, once, in `reads-<pid>.txt`."""
    prefix = os.path.join(os.path.abspath(root), "")  # noqa: PTH100, PTH118
    target = os.path.join(folder, f"{READS_PREFIX}{os.getpid()}.txt")  # noqa: PTH118
    skip = (f"{os.sep}.git{os.sep}", f"{os.sep}__pycache__{os.sep}", f"{os.sep}site-packages{os.sep}")
    writes = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event != "open" or _state["busy"] or len(_reads) >= READS_CAP:
            return
        path, mode, flags = args
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            return
        if mode is None and isinstance(flags, int) and flags & writes:
            return
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str):
            return
        _state["busy"] = True
        try:
            full = os.path.abspath(path)  # noqa: PTH100
            if full in _reads or not full.startswith(prefix) or any(s in full for s in skip):
                return
            _reads.add(full)
            fd = _state["fd"]
            if fd is None:
                fd = _state["fd"] = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(fd, (full + "\n").encode("utf-8", "surrogateescape"))  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001, S110 - the run must never fail because of the ledger
            pass
        finally:
            _state["busy"] = False

    sys.addaudithook(hook)


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
        atexit.register(_write_seeds, _folder)
        sys.meta_path.insert(0, _SeedWatch)  # type: ignore[arg-type]
        for _name, _patch in _PATCHES.items():
            if _name in sys.modules:
                _patch(sys.modules[_name])
        _root = os.environ.get(ROOT_VAR)
        if _root:
            _watch_reads(_folder, _root)
    _run_shadowed()
