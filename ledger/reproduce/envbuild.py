"""`ledger reproduce --env rebuild`: a virtualenv built from a run's recorded lockfile.

Environments are content-addressed, so the virtualenv is kept under the ledger's
folder by digest and reused by every reproduction of a run made in the same one.
uv builds it when it is on PATH (and can fetch the recorded Python); otherwise
`venv` and pip, with an interpreter of the recorded major.minor version.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.capture.environment import interpreter_environment
from ledger.core.errors import ReproduceError
from ledger.git.command import scrubbed_env

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from ledger.core.lockfile import Environment

ENVS_DIR = "envs"
"""Folder of the ledger's home holding rebuilt virtualenvs, one per environment digest."""

MARKER = "ledger-env.json"
"""Written last: a virtualenv without it is half-built and is built again."""

_BIN = "Scripts" if os.name == "nt" else "bin"


@dataclass(frozen=True, slots=True)
class BuiltEnv:
    """A ready virtualenv."""

    path: Path
    python: Path
    reused: bool
    seconds: float = 0.0


def env_path(home: Path, lock: Environment) -> Path:
    """Where the virtualenv of an environment lives (whether or not it is built yet)."""
    return home / ENVS_DIR / lock.digest[:16]


def is_built(path: Path) -> bool:
    """Whether a complete virtualenv is there."""
    return (path / MARKER).is_file()


def builder() -> str:
    """What would build the virtualenv: `uv`, or `venv + pip`."""
    return "uv" if shutil.which("uv") else "venv + pip"


def unrestorable(lock: Environment) -> list[str]:
    """Packages a lockfile cannot reinstall (installed from nowhere we know)."""
    return [f"{p.name}=={p.version}" for p in lock.packages if p.source == "unknown"]


def python_of(path: Path) -> Path:
    """The interpreter of a virtualenv."""
    return path / _BIN / ("python.exe" if os.name == "nt" else "python")


def build_env(lock: Environment, *, home: Path, say: Callable[[str], None]) -> BuiltEnv:
    """Build the lockfile's virtualenv, or reuse it; a failed build leaves nothing behind.

    Raises:
        ReproduceError: no interpreter of the recorded version, or the install failed.
    """
    path = env_path(home, lock)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_name(f"{path.name}.lock")):
        if is_built(path):
            return BuiltEnv(path, python_of(path), reused=True)
        started = time.monotonic()
        shutil.rmtree(path, ignore_errors=True)
        requirements = path.with_name(f"{path.name}.requirements.txt")
        requirements.write_text(lock.to_requirements())
        say(f"building a virtualenv from the lockfile ({len(lock.packages)} packages, {builder()}) in {path}")
        try:
            if shutil.which("uv"):
                _build_with_uv(path, lock, requirements)
            else:
                _build_with_pip(path, lock, requirements)
        except ReproduceError:
            shutil.rmtree(path, ignore_errors=True)
            raise
        (path / MARKER).write_text(json.dumps({"digest": lock.digest, "built_at": time.time()}))
        return BuiltEnv(path, python_of(path), reused=False, seconds=time.monotonic() - started)


def venv_environment(python: Path) -> Environment:
    """The environment a virtualenv's interpreter sees, captured as the lockfile is."""
    try:
        return interpreter_environment(str(python), env=scrubbed_env())
    except OSError as e:
        raise ReproduceError(str(e)) from e


def base_python(version: str) -> str | None:
    """An interpreter of the recorded major.minor version: this one, else `pythonX.Y` on PATH."""
    major_minor = ".".join(version.split(".")[:2])
    if f"{sys.version_info.major}.{sys.version_info.minor}" == major_minor:
        return sys.executable
    return shutil.which(f"python{major_minor}")


def _build_with_uv(path: Path, lock: Environment, requirements: Path) -> None:
    _step(["uv", "venv", "--quiet", "--python", lock.python_version, str(path)], "uv venv")
    _step(
        [
            "uv",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--python",
            str(python_of(path)),
            "-r",
            str(requirements),
        ],
        "uv pip install",
    )


def _build_with_pip(path: Path, lock: Environment, requirements: Path) -> None:
    base = base_python(lock.python_version)
    if base is None:
        raise ReproduceError(
            f"no Python {lock.python_version} to build the environment with",
            hint=f"install python{'.'.join(lock.python_version.split('.')[:2])} or uv",
        )
    install = ["install", "--no-deps", "--disable-pip-version-check", "--no-input", "-r", str(requirements)]
    if importlib.util.find_spec("pip") is not None:
        # pip here installs into the new env (`--python`), so it needs no pip of its own: faster.
        _step([base, "-m", "venv", "--without-pip", str(path)], "python -m venv")
        _step([sys.executable, "-m", "pip", "--python", str(python_of(path)), *install], "pip install")
    else:
        _step([base, "-m", "venv", str(path)], "python -m venv")
        _step([str(python_of(path)), "-m", "pip", *install], "pip install")


def _step(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, env=scrubbed_env(), check=False)
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise ReproduceError(f"{what} failed (exit {proc.returncode}): {tail}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder per environment: a second reproduction waits, then reuses the result."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
