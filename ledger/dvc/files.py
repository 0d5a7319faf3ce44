"""Read DVC's lock, `.dvc` and `dvc.yaml` files (`ledger.dvc.match` checks the hashes on disk)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Literal

import yaml

from ledger.core.errors import DvcLockError
from ledger.core.records import DataFile

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
    files: tuple[DataFile, ...] = ()
    """Per-file entries of a directory listed file by file (`files:`); `value` is then
    the `.dir` digest DVC computes from them."""

    @property
    def is_dir(self) -> bool:
        """Whether the hash is a directory manifest hash."""
        return self.value.endswith(".dir")

    @property
    def cloud_remote(self) -> str | None:
        """The remote holding per-file versions (`version_aware`), when DVC recorded them."""
        return next((f.remote or "" for f in self.files if f.version_id), None)


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
    one (URLs, imports from other repos) are dropped. An entry that cannot be recorded
    (an out without a hash, a path outside the repo) is an error line; a malformed file yields an error line
    and no refs, since half a file (say, mid-merge) is worse than none; a missing file
    is skipped.
    """
    outs: dict[str, DataRef] = {}
    deps: dict[str, DataRef] = {}
    errors: list[str] = []
    for name in sorted(set(files)):
        pure = PurePosixPath(name)
        if pure.name != "dvc.lock" and pure.suffix != ".dvc":
            continue
        try:
            refs, problems = _refs_in(root, name)
        except DvcLockError as exc:
            errors.append(str(exc))
            continue
        errors += problems
        for ref in refs:
            (outs if ref.role == "out" else deps).setdefault(ref.path, ref)
    kept = [*outs.values(), *(ref for path, ref in deps.items() if path not in outs)]
    return DataScan(tuple(sorted(kept, key=lambda ref: ref.path)), tuple(errors))


def is_input(role: str, source: str) -> bool:
    """Whether an entry of `source` in `role` is data a run reads (checked before it starts):
    deps, and what `.dvc` files track; the outs of `dvc.lock` stages are outputs."""
    return role == "dep" or PurePosixPath(source).suffix == ".dvc"


def dir_digest(files: Iterable[tuple[str, str]]) -> str:
    """DVC's `.dir` hash of (relpath, md5) pairs: `Tree.digest` in `dvc_data`.

    The md5 of `json.dumps(..., sort_keys=True)` over `{"md5", "relpath"}` per file,
    sorted by relpath; the same digest whether DVC built the tree from the workspace
    or from a `files:` list.
    """
    manifest = [{"md5": md5, "relpath": rel} for rel, md5 in sorted(files)]
    digest = hashlib.md5(json.dumps(manifest, sort_keys=True).encode(), usedforsecurity=False)
    return f"{digest.hexdigest()}.dir"


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


def _refs_in(root: Path, name: str) -> tuple[list[DataRef], list[str]]:
    raw = _read(root, name)
    if raw is None:
        return [], []
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
    problems: list[str] = []
    for key, value in stages.items():
        stage = _mapping(value, f"{name}: stage {key!r}")
        wdir = wdirs.get(str(key).split("@")[0], ".")  # foreach/matrix: "train@1"
        found, bad = _entries(stage, posixpath.join(base, wdir), name, str(key))
        refs += found
        problems += bad
    return refs, problems


def _entries(
    doc: dict[str, object], base: str, source: str, stage: str | None
) -> tuple[list[DataRef], list[str]]:
    where = f"{source}: " + (f"stage {stage!r} " if stage else "")
    refs: list[DataRef] = []
    problems: list[str] = []
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
            if "repo" in entry or (role == "dep" and (value is None or "://" in path)):
                continue  # read elsewhere: an import's or a URL's local copy is an out
            repo_path = _repo_path(base, path)
            files = _files(entry, label) if value is None and "files" in entry else ()
            if files:
                value = dir_digest((f.relpath, f.md5) for f in files)
            if repo_path is None or value is None:
                why = "outside the repository" if repo_path is None else "no md5 or files: recorded"
                problems.append(f"{label} ({path}): {why}; not recorded")
                continue
            algorithm = "md5" if entry.get("hash") == "md5" else "md5-dos2unix"
            size, nfiles = _count(entry, "size", label), _count(entry, "nfiles", label)
            if files:
                sizes = [f.size for f in files]
                size = None if None in sizes else sum(s for s in sizes if s is not None)
                nfiles = len(files)
            refs.append(DataRef(repo_path, algorithm, value, size, nfiles, source, stage, role, files))
    return refs, problems


def _files(entry: dict[str, object], label: str) -> tuple[DataFile, ...]:
    """A `files:` list as DVC writes it for cloud-versioned remotes (`version_aware`).

    Each item has `relpath`, `md5`, `size` and, once pushed, `cloud: {remote: {etag,
    version_id}}` (`dvc.output.split_file_meta_from_cloud`); DVC before 3 put `etag`,
    `version_id` and `remote` beside `md5`.
    """
    items = entry["files"]
    if not isinstance(items, list) or not items:
        raise DvcLockError(f"{label} files is not a list of files")
    found = []
    for index, item in enumerate(items):
        where = f"{label} files[{index}]"
        file = _mapping(item, where)
        relpath, md5 = file.get("relpath"), file.get("md5")
        if not isinstance(relpath, str) or not isinstance(md5, str):
            raise DvcLockError(f"{where} has no relpath and md5")
        if _repo_path(".", relpath) in (None, ".") or relpath.startswith("./"):
            raise DvcLockError(f"{where} relpath {relpath!r} leaves its directory")
        cloud = file.get("cloud")
        remote, meta = next(iter(cloud.items())) if isinstance(cloud, dict) and cloud else (None, file)
        meta = meta if isinstance(meta, dict) else {}
        remote = remote if isinstance(remote, str) else _text(file.get("remote"))
        size = _count(file, "size", where)
        found.append(
            DataFile(relpath, md5, size, _text(meta.get("version_id")), _text(meta.get("etag")), remote)
        )
    return tuple(sorted(found, key=lambda f: f.relpath))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


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
