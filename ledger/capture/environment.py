"""Capture the Python environment as a content-addressed lockfile, importing nothing."""

from __future__ import annotations

import json
import os
import platform
import re
import stat
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.commandline import command_python
from ledger.core.lockfile import Environment, Package, Source
from ledger.core.redact import redact_text

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from importlib import metadata

_NAME_RE = re.compile(r"^Name:[ \t]*(\S.*?)\s*$", re.MULTILINE)
_VERSION_RE = re.compile(r"^Version:[ \t]*(\S.*?)\s*$", re.MULTILINE)
_INSTALL_DIRS = frozenset({"site-packages", "dist-packages"})
_CUDA_RE = re.compile(r"^cuda\s*(?::[^=\n]*)?=\s*(['\"])(.*?)\1", re.MULTILINE)

_DIST_SUFFIXES = (".dist-info", ".egg-info")

SETTLED_NS = 2_000_000_000
"""How old a folder's mtime must be before a listing of it is trusted to stay current."""


def capture_environment(*, paths: Sequence[str] | None = None) -> Environment:
    """Describe the running interpreter and the distributions importable from `paths`.

    Reads metadata files only (no imports of user packages, no subprocess). A process
    that starts many runs (a sweep) reads them once: the last answer is reused while
    the search path and the folders on it are unchanged (`_listing_stamp`).

    Args:
        paths: where to look for distributions; `sys.path` when None.
    """
    global _last
    search = tuple(sys.path if paths is None else paths)
    key = (search, _listing_stamp(search))
    last = _last  # one read: another thread may replace it meanwhile
    if last is not None and last[0] == key:
        return last[1]
    env = _read_environment(search)
    _last = (key, env)
    return env


def command_environment(argv: Sequence[str]) -> Environment:
    """The environment a command's Python code runs in: the interpreter it names, else
    the `python` its PATH finds (`ledger.core.commandline.command_python`), else this one.

    Raises:
        OSError: that interpreter does not start.
    """
    python = command_python(argv)
    if python is None or is_this_interpreter(python):
        return capture_environment()
    return interpreter_environment(python)


def run_environment(argv: Sequence[str], errors: list[str]) -> Environment:
    """The environment the run's Python code runs in, which need not be the ledger's own
    (exp-ledger installed with pipx, the project in its own virtualenv)."""
    try:
        return command_environment(argv)
    except OSError as e:
        errors.append(f"environment: {e}; recorded the ledger's own instead")
        return capture_environment()


def interpreter_environment(python: str, *, env: Mapping[str, str] | None = None) -> Environment:
    """The environment another interpreter sees (a run's own virtualenv, a rebuilt one).

    One subprocess asks it for its version and search path; the distributions are then
    read from the files, as for this interpreter.

    Raises:
        OSError: the interpreter does not start or answers nothing readable.
    """
    import subprocess

    proc = subprocess.run(
        [python, "-c", _PROBE],
        capture_output=True,
        text=True,
        env=None if env is None else dict(env),
        check=False,
    )
    try:
        version, implementation, paths = json.loads(proc.stdout)
    except ValueError:
        raise OSError(f"{python} does not start: {proc.stderr.strip()[-300:] or 'no answer'}") from None
    found = capture_environment(paths=[p for p in paths if p])
    return replace(found, python_version=version, implementation=implementation)


def is_this_interpreter(python: str) -> bool:
    """Whether `python` is the interpreter running now: the same virtualenv (whose
    interpreters all link to one base binary), else the same file."""
    return _home(Path(python)) == _home(Path(sys.executable))


def _home(python: Path) -> Path:
    folder = python.absolute().parent.parent
    return folder if (folder / "pyvenv.cfg").is_file() else python.resolve()


_PROBE = (
    "import json, platform, sys; "
    "print(json.dumps([platform.python_version(), platform.python_implementation(), sys.path]))"
)


_last: tuple[tuple[object, ...], Environment] | None = None
"""The last capture and what it depended on."""


def _listing_stamp(search: tuple[str, ...]) -> tuple[object, ...]:
    """What the distributions found on `search` depend on, read without opening them.

    Installing, upgrading or removing a distribution adds, renames or removes a
    `*.dist-info` / `*.egg-info` entry directly inside a folder on the path (pip
    never edits one in place), so the entries' names and inodes say when to read
    again (with their ctimes: a freed inode number can come back). Only a legacy
    `setup.py develop` rewrites its `*.egg-info/PKG-INFO` in place: that file's mtime is
    part of the stamp.
    """
    stamp: list[object] = []
    for entry in search:
        folder = Path(entry or ".").absolute()
        listing = _dist_entries(folder)
        if listing is None:
            stamp.append(None)
            continue
        eggs = tuple(
            _mtime(folder / name / "PKG-INFO") for name, *_ in listing if name.lower().endswith(".egg-info")
        )
        stamp.append((folder, listing, eggs))
    return tuple(stamp)


_listings: dict[Path, tuple[tuple[int, int, int, int], tuple[tuple[str, int, int], ...]]] = {}
"""Per folder: its (device, inode, mtime, ctime) when listed, and its distribution entries."""


def _dist_entries(folder: Path) -> tuple[tuple[str, int, int], ...] | None:
    """(name, inode, ctime) of the distributions directly in `folder`; a zip's own stat.

    A listing is reused while the folder's mtime and ctime are unchanged, as
    `importlib.metadata` does with the mtime, but only once they are `SETTLED_NS` old:
    a change within the same clock tick as the listing would leave them as they were
    (git's "racy" rule).
    """
    try:
        info = folder.stat()
    except OSError:
        return None
    key = (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
    memo = _listings.get(folder)
    if memo is not None and memo[0] == key:
        return memo[1]
    if stat.S_ISDIR(info.st_mode):
        try:
            with os.scandir(folder) as it:
                found = [e for e in it if e.name.lower().endswith(_DIST_SUFFIXES)]
                # The ctime too: a reinstall may get the freed inode number back.
                listing = tuple(sorted((e.name, e.inode(), e.stat().st_ctime_ns) for e in found))
        except OSError:
            return None
    else:
        listing = ((str(info.st_size), info.st_ino, info.st_mtime_ns),)
    if info.st_ctime_ns < time.time_ns() - SETTLED_NS:
        _listings[folder] = (key, listing)
    return listing


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


class _DistDir:
    """A `*.dist-info` / `*.egg-info` folder, read as `importlib.metadata` reads one,
    without importing it (its import costs more than reading every distribution)."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def read_text(self, filename: str) -> str | None:
        try:
            return (self.path / filename).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def locate_file(self, path: str) -> Path:
        return self.path.parent / path


def _distributions(search: Sequence[str]) -> Iterator[_DistDir | metadata.Distribution]:
    """The distributions on `search`, in path order, as `importlib.metadata` finds them."""
    for entry in search:
        folder = Path(entry or ".").absolute()
        if folder.is_dir():
            for name, *_ in _dist_entries(folder) or ():
                yield _DistDir(folder / name)
        elif folder.is_file():  # a zip archive on the path: rare, worth the import then
            from importlib import metadata

            yield from metadata.distributions(path=[entry])


def _read_environment(search: Sequence[str]) -> Environment:
    packages: dict[str, Package] = {}
    torch_dist = None
    for dist in _distributions(search):
        package = _package(dist)
        # The first distribution on the path is the one Python would import.
        if package is not None and package.name not in packages:
            packages[package.name] = package
            torch_dist = dist if package.name == "torch" else torch_dist
    return Environment(
        python_version=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=_platform(),
        packages=tuple(packages.values()),
        torch=None if torch_dist is None else packages["torch"].version,
        cuda=None if torch_dist is None else _torch_cuda(torch_dist),
    )


def normalize_name(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _package(dist: _DistDir | metadata.Distribution) -> Package | None:
    # Only the header block is parsed: the email parser `dist.metadata` uses costs
    # a noticeable time per distribution because it walks the whole long description.
    text = dist.read_text("METADATA")
    develop_dir = None
    if text is None:
        text = dist.read_text("PKG-INFO") or ""
        # An `*.egg-info` outside site-packages is a legacy `setup.py develop`
        # checkout (or the project's own source tree), which has no direct_url.json.
        root = Path(str(dist.locate_file(""))).resolve()
        develop_dir = None if root.name in _INSTALL_DIRS else root.as_uri()
    head = text.split("\n\n", 1)[0]
    name, version = _NAME_RE.search(head), _VERSION_RE.search(head)
    if name is None or version is None:
        return None  # a leftover metadata dir from a failed uninstall
    direct_url = dist.read_text("direct_url.json")
    package = Package(normalize_name(name.group(1)), version.group(1), "index")
    if direct_url is not None:
        return _with_origin(package, direct_url)
    if develop_dir is not None:
        return replace(package, source="local", url=develop_dir, editable=True)
    return package


def _with_origin(package: Package, direct_url: str) -> Package:
    """Apply PEP 610's `direct_url.json`."""
    try:
        info = json.loads(direct_url)
        url = redact_text(str(info["url"]))
    except (ValueError, KeyError, TypeError):
        return replace(package, source="unknown")
    if isinstance(vcs := info.get("vcs_info"), dict):
        vcs_url = f"{vcs.get('vcs', 'git')}+{url}"
        return replace(package, source="vcs", url=vcs_url, commit=vcs.get("commit_id"))
    if isinstance(dir_info := info.get("dir_info"), dict):
        editable = dir_info.get("editable") is True
        return replace(package, source="local", url=url, editable=editable)
    source: Source = "url" if isinstance(info.get("archive_info"), dict) else "unknown"
    return replace(package, source=source, url=url)


def _torch_cuda(dist: _DistDir | metadata.Distribution) -> str | None:
    # Importing torch takes seconds and initialises CUDA; its generated
    # `torch/version.py` holds the same answer as `torch.version.cuda`.
    try:
        version_py = Path(str(dist.locate_file("torch/version.py")))
        text = version_py.read_text(encoding="utf-8")
    except OSError:
        return None
    match = _CUDA_RE.search(text)
    return None if match is None else match.group(2)


def _platform() -> str:
    # platform.platform() names the machine on Linux and macOS but not on Windows.
    name, machine = platform.platform(), platform.machine()
    return name if not machine or machine in name else f"{name}-{machine}"
