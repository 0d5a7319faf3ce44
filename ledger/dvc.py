"""Read DVC's lock, `.dvc` and `dvc.yaml` files (`ledger.dvc_match` checks the hashes on disk)."""

from __future__ import annotations

import contextlib
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Literal

import yaml

from ledger.errors import DvcLockError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

try:  # libyaml's parser is several times faster, and this runs inside git hooks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Role = Literal["out", "dep"]
_ROLES: tuple[tuple[Role, str], ...] = (("out", "outs"), ("dep", "deps"))


@dataclass(frozen=True, slots=True)
class DataRef:
    """One hash DVC recorded for a path: the data a run used or produced."""

    path: str
    """Repo-relative POSIX path of the tracked file or directory."""
    algorithm: str
    """`md5` (DVC 3, `hash: md5`) or `md5-dos2unix` (legacy DVC 2 entries)."""
    value: str
    """The hash; directories carry DVC's `.dir` suffix."""
    size: int | None
    nfiles: int | None
    source: str
    """Repo-relative file the entry came from (`dvc.lock`, `data/raw.dvc`)."""
    stage: str | None
    """The `dvc.lock` stage name; None for `.dvc` files."""
    role: Role

    @property
    def is_dir(self) -> bool:
        """Whether the hash is a directory manifest hash."""
        return self.value.endswith(".dir")


@dataclass(frozen=True, slots=True)
class DataScan:
    """What `read_data_refs` found: refs sorted by path, and one line per bad file."""

    refs: tuple[DataRef, ...]
    errors: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeclaredFiles:
    """Repo-relative params, metrics and plot files that `dvc.yaml` files name."""

    params: tuple[str, ...]
    metrics: tuple[str, ...]
    plots: tuple[str, ...]


def read_data_refs(root: Path, files: Iterable[str]) -> DataScan:
    """Collect the hashes recorded in the `*.dvc` and `dvc.lock` files among `files`.

    Paths are made repo-relative from the recording file's directory and the stage's
    `wdir` (read from the sibling `dvc.yaml`: `dvc.lock` does not repeat it). Each
    path appears once: an out wins over a dep (one stage's input is often another's
    output), else the first file in path order wins. Deps are kept when DVC recorded
    an md5 for them, code as well as data, since both explain a result; deps without
    one (URLs, imports from other repos) and paths outside the repo are dropped. A
    malformed file yields an error line and no refs, since half a file (say, mid-merge)
    is worse than none; a missing file is skipped.
    """
    outs: dict[str, DataRef] = {}
    deps: dict[str, DataRef] = {}
    errors: list[str] = []
    for name in sorted(set(files)):
        pure = PurePosixPath(name)
        if pure.name != "dvc.lock" and pure.suffix != ".dvc":
            continue
        try:
            refs = _refs_in(root, name)
        except DvcLockError as exc:
            errors.append(str(exc))
            continue
        for ref in refs:
            (outs if ref.role == "out" else deps).setdefault(ref.path, ref)
    kept = [*outs.values(), *(ref for path, ref in deps.items() if path not in outs)]
    return DataScan(tuple(sorted(kept, key=lambda ref: ref.path)), tuple(errors))


def declared_files(root: Path, files: Iterable[str]) -> DeclaredFiles:
    """Find the params, metrics and plot files named by the `dvc.yaml` files in `files`.

    A bare stage params key (`train.lr`) means `params.yaml` in the stage's `wdir`; a
    mapping key is a file name. A top-level plot names files through its `x`/`y`
    mappings, else through its id. Templated (`${...}`) entries need DVC to resolve
    and are skipped; a malformed `dvc.yaml` is ignored, as these are hints, not data.
    """
    params: set[str] = set()
    metrics: set[str] = set()
    plots: set[str] = set()
    for name in files:
        if PurePosixPath(name).name != "dvc.yaml":
            continue
        doc, base = _quiet_mapping(root, name), posixpath.dirname(name)
        _add(params, base, _names(doc.get("params")))
        _add(metrics, base, _names(doc.get("metrics")))
        _add(plots, base, _plot_files(doc.get("plots")))
        wdirs = _wdirs(doc)
        for stage_name, stage in _stage_defs(doc):
            wdir = posixpath.join(base, wdirs.get(stage_name, "."))
            _add(params, wdir, _names(stage.get("params"), bare="params.yaml"))
            _add(metrics, wdir, _names(stage.get("metrics")))
            _add(plots, wdir, _names(stage.get("plots")))
    return DeclaredFiles(*(tuple(sorted(found)) for found in (params, metrics, plots)))


def _refs_in(root: Path, name: str) -> list[DataRef]:
    raw = _read(root, name)
    if raw is None:
        return []
    doc = _mapping(_parse(name, raw), f"{name}: top level")
    base = posixpath.dirname(name)
    if PurePosixPath(name).name != "dvc.lock":
        wdir = doc.get("wdir", ".")
        if not isinstance(wdir, str):
            raise DvcLockError(f"{name}: wdir is not a string")
        return _entries(doc, posixpath.join(base, wdir), name, None)
    if doc.get("schema") != "2.0":
        found = doc.get("schema")
        raise DvcLockError(f"{name}: unsupported schema {found!r} (want '2.0')")
    stages = _mapping(doc.get("stages", {}), f"{name}: stages")
    wdirs = _wdirs(_quiet_mapping(root, posixpath.join(base, "dvc.yaml")))
    refs: list[DataRef] = []
    for key, value in stages.items():
        stage = _mapping(value, f"{name}: stage {key!r}")
        wdir = wdirs.get(str(key).split("@")[0], ".")  # foreach/matrix: "train@1"
        refs += _entries(stage, posixpath.join(base, wdir), name, str(key))
    return refs


def _entries(doc: dict[str, object], base: str, source: str, stage: str | None) -> list[DataRef]:
    where = f"{source}: " + (f"stage {stage!r} " if stage else "")
    refs: list[DataRef] = []
    for role, key in _ROLES:
        items = doc.get(key, [])
        if not isinstance(items, list):
            raise DvcLockError(f"{where}{key} is not a list")
        for index, item in enumerate(items):
            label = f"{where}{key}[{index}]"
            entry = _mapping(item, label)
            path, value = entry.get("path"), entry.get("md5")
            if not isinstance(path, str):
                raise DvcLockError(f"{label} has no path")
            if value is not None and not isinstance(value, str):
                raise DvcLockError(f"{label} md5 is not a string")
            repo_path = _repo_path(base, path)
            if value is None or repo_path is None or "repo" in entry:
                continue  # no local content hash: a URL, an import, an uncommitted out
            algorithm = "md5" if entry.get("hash") == "md5" else "md5-dos2unix"
            size, nfiles = _count(entry, "size", label), _count(entry, "nfiles", label)
            refs.append(DataRef(repo_path, algorithm, value, size, nfiles, source, stage, role))
    return refs


def _count(entry: dict[str, object], key: str, label: str) -> int | None:
    value = entry.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise DvcLockError(f"{label} {key} is not an integer")


def _read(root: Path, name: str) -> bytes | None:
    try:
        return (root / name).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise DvcLockError(f"{name}: cannot read ({exc.strerror or exc})") from exc


def _parse(name: str, raw: bytes) -> object:
    try:
        return yaml.load(raw, Loader=_Loader)  # a safe loader: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        line = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise DvcLockError(f"{name}: not valid YAML{line}") from exc
    except yaml.YAMLError as exc:  # e.g. bytes that are not UTF-8
        raise DvcLockError(f"{name}: not valid YAML") from exc


def _mapping(value: object, label: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise DvcLockError(f"{label} is not a mapping")
    return value


def _quiet_mapping(root: Path, name: str) -> dict[str, object]:
    """Load a `dvc.yaml`, or an empty mapping when it is missing or malformed."""
    with contextlib.suppress(DvcLockError):
        raw = _read(root, name)
        return {} if raw is None else _mapping(_parse(name, raw), name)
    return {}


def _stage_defs(dvc_yaml: dict[str, object]) -> Iterator[tuple[str, dict[str, object]]]:
    stages = dvc_yaml.get("stages")
    for name, stage in stages.items() if isinstance(stages, dict) else ():
        body = stage.get("do", stage) if isinstance(stage, dict) else None
        if isinstance(body, dict):  # foreach/matrix stages keep their body under `do`
            yield str(name), body


def _wdirs(dvc_yaml: dict[str, object]) -> dict[str, str]:
    return {
        name: wdir
        for name, stage in _stage_defs(dvc_yaml)
        if isinstance(wdir := stage.get("wdir"), str) and "${" not in wdir
    }


def _names(items: object, *, bare: str | None = None) -> Iterator[str]:
    """Paths in a list of `path` or `{path: options}`; `bare` replaces plain strings."""
    for item in items if isinstance(items, list) else ():
        if isinstance(item, str):
            yield bare or item
        elif isinstance(item, dict):
            yield from map(str, item)


def _plot_files(items: object) -> Iterator[str]:
    for item in items if isinstance(items, list) else ():
        if isinstance(item, str):
            yield item
        for plot_id, props in item.items() if isinstance(item, dict) else ():
            axes = [props.get("x"), props.get("y")] if isinstance(props, dict) else []
            files = [str(f) for axis in axes if isinstance(axis, dict) for f in axis]
            yield from files or [str(plot_id)]


def _add(found: set[str], base: str, names: Iterable[str]) -> None:
    paths = (_repo_path(base, name) for name in names if "${" not in name)
    found.update(path for path in paths if path is not None)


def _repo_path(base: str, path: str) -> str | None:
    """Normalise a path from a DVC file to repo-relative POSIX; None if not local."""
    if "://" in path or posixpath.isabs(path) or PureWindowsPath(path).drive:
        return None
    joined = posixpath.normpath(posixpath.join(base, path))
    return None if joined == ".." or joined.startswith("../") else joined
