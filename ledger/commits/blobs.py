"""The results a commit's tree holds, parsed from its blobs (never the work tree).

Each blob is fetched once with `git cat-file` and each distinct file content parsed
once, however many commits share it. Params and metrics blobs are parsed from bytes
the way `ledger.capture.params` and `ledger.capture.metrics_files` read files; DVC files go through
`ledger.dvc.files` itself, on a scratch mirror of the commit's DVC files (its `wdir` and
`dvc.yaml` rules are too subtle to copy). A metrics file that is a DVC output, not in
git, is read from the DVC cache by the hash the commit's `dvc.lock` gives it.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ledger.capture.metrics_files import parse_metrics, shown_keys
from ledger.core.records import DataFile, DataItem, Metric

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ledger.core.config import Config
    from ledger.core.records import Param
    from ledger.dvc.files import DataScan, DeclaredFiles
    from ledger.git import batch


class TreeReader:
    """Blobs fetched once; each distinct file content parsed once."""

    def __init__(self, cat: batch.CatFile, scratch: Path, config: Config, dvc_cache: Path) -> None:
        self._cat = cat
        self._config = config
        self._dvc_cache = dvc_cache
        self._cached: dict[tuple[str, str], bytes | None] = {}
        """Cache objects read, by (algorithm, hash)."""
        self._blobs: dict[str, bytes] = {}
        self._declared_blobs: dict[tuple[str, str], str | None] = {}
        self._scans: dict[tuple[tuple[str, str], ...], DataScan] = {}
        self._declared: dict[tuple[tuple[str, str], ...], DeclaredFiles] = {}
        self._params: dict[tuple[str, str], list[Param] | str] = {}
        self._metrics: dict[tuple[str, str], tuple[dict[str, float], list[str]]] = {}
        self._mirror = _Mirror(scratch)

    def fetch(self, oids: Iterable[str]) -> None:
        """Read the blobs not read yet, all in one round with `cat-file`."""
        wanted = [oid for oid in dict.fromkeys(oids) if oid not in self._blobs]
        for oid, obj in zip(wanted, self._cat.read(wanted), strict=True):
            self._blobs[oid] = b"" if obj is None else obj.data

    def fetch_declared(self, trees: dict[str, list[batch.TreeFile]]) -> None:
        """Read the files `dvc.yaml` declares that the listing did not cover (`<tree>:<path>`)."""
        wanted = []
        for tree, files in trees.items():
            listed = {f.path for f in files}
            declared = self._dvc_state(files)[1]
            wanted += [(tree, p) for p in (*declared.params, *declared.metrics) if p not in listed]
        wanted = [key for key in dict.fromkeys(wanted) if key not in self._declared_blobs]
        for key, obj in zip(wanted, self._cat.read([f"{t}:{p}" for t, p in wanted]), strict=True):
            if obj is None or obj.type != "blob":
                self._declared_blobs[key] = None
                continue
            self._declared_blobs[key] = obj.oid
            self._blobs.setdefault(obj.oid, obj.data)

    def results(
        self, tree: str, files: list[batch.TreeFile]
    ) -> tuple[list[Param], list[Metric], list[DataItem], list[str]]:
        """Params, metrics, data refs and capture errors of one commit's tree."""
        from ledger.capture.caps import cap_params, cap_results
        from ledger.capture.params import merge_params

        scan, declared = self._dvc_state(files)
        errors = list(scan.errors)
        oids = {f.path: f.oid for f in files}
        groups = []
        for name, oid in self._present(tree, oids, (*self._config.params_files, *declared.params)):
            if (name, oid) not in self._params:
                self._params[(name, oid)] = _params_or_error(name, self._blobs[oid])
            parsed = self._params[(name, oid)]
            if isinstance(parsed, str):
                errors.append(parsed)
            else:
                groups.append(parsed)
        found: dict[str, dict[str, float]] = {}
        for name, key, raw in self._metrics_blobs(tree, oids, scan, declared, errors):
            if (name, key) not in self._metrics:
                self._metrics[(name, key)] = parse_metrics(name, raw)
            found[name], problems = self._metrics[(name, key)]
            errors += problems
        names = shown_keys(found)
        metrics = [
            Metric(key=names[(name, k)], value=v, step=None, source=name)
            for name, values in found.items()
            for k, v in values.items()
        ]
        data = [
            DataItem(
                r.path, r.role, r.algorithm, r.value, r.size, r.nfiles, r.source, r.stage, None, files=r.files
            )
            for r in scan.refs
        ]
        metrics, _ = cap_results(metrics, {}, errors)
        return cap_params(merge_params(groups), errors), metrics, data, errors

    def _metrics_blobs(
        self, tree: str, oids: dict[str, str], scan: DataScan, declared: DeclaredFiles, errors: list[str]
    ) -> Iterator[tuple[str, str, bytes]]:
        """(name, blob or DVC hash, content) of each metrics file: from git, else from the
        DVC cache when a DVC output holds it (an error line when the cache lacks it)."""
        names = tuple(dict.fromkeys((*self._config.metrics_files, *declared.metrics)))
        in_git = dict(self._present(tree, oids, names))
        for name in names:
            if name in in_git:
                yield name, in_git[name], self._blobs[in_git[name]]
            elif (kept := self._dvc_output(scan, name)) is not None:
                key, raw = kept
                if raw is not None:
                    yield name, key, raw
                else:
                    errors.append(
                        f"{name}: a DVC output (md5 {key}) that is not in the DVC cache "
                        f"({self._dvc_cache}); no metrics from it"
                    )

    def _dvc_output(self, scan: DataScan, name: str) -> tuple[str, bytes | None] | None:
        """A file the commit's DVC outputs hold: its md5 and its content from the DVC cache
        (None when the cache lacks it); None when DVC does not track it."""
        for ref in scan.refs:
            if ref.role != "out" or not (ref.path == name or name.startswith(f"{ref.path}/")):
                continue
            if ref.path == name:
                return ref.value, self._object(ref.algorithm, ref.value)
            rel = name[len(ref.path) + 1 :]
            listed = ref.files or self._manifest(ref.algorithm, ref.value)
            if listed is None:  # the directory's manifest is not in the cache either
                return ref.value, None
            md5 = next((f.md5 for f in listed if f.relpath == rel), None)
            return None if md5 is None else (md5, self._object(ref.algorithm, md5))
        return None

    def _manifest(self, algorithm: str, value: str) -> tuple[DataFile, ...] | None:
        """A `.dir` object's files, as DVC wrote it to the cache."""
        import json

        raw = self._object(algorithm, value)
        try:
            entries = json.loads(raw) if raw is not None else None
            return None if entries is None else tuple(DataFile(e["relpath"], e["md5"]) for e in entries)
        except (ValueError, TypeError, KeyError):
            return None

    def _object(self, algorithm: str, value: str) -> bytes | None:
        from ledger.dvc.cache import read_object

        if (algorithm, value) not in self._cached:
            self._cached[(algorithm, value)] = read_object(self._dvc_cache, algorithm, value)
        return self._cached[(algorithm, value)]

    def _present(self, tree: str, oids: dict[str, str], names: Iterable[str]) -> Iterator[tuple[str, str]]:
        """Each named file the tree holds (listed, or declared by a `dvc.yaml`), with its blob."""
        for name in dict.fromkeys(names):
            oid = oids.get(name) or self._declared_blobs.get((tree, name))
            if oid is not None:
                yield name, oid

    def _dvc_state(self, files: list[batch.TreeFile]) -> tuple[DataScan, DeclaredFiles]:
        """DVC's own readers, run on a mirror of the commit's DVC files (they read paths).

        Declarations depend on the `dvc.yaml` files alone, which rarely change: they are
        cached apart from the hashes, which change with nearly every result commit.
        """
        from ledger.dvc import files as dvc_files

        state = tuple(sorted((f.path, f.oid) for f in files if _is_dvc_file(f.path)))
        declarations = tuple((p, oid) for p, oid in state if PurePosixPath(p).name == "dvc.yaml")
        scan = self._scans.get(state)
        declared = self._declared.get(declarations)
        if scan is None or declared is None:
            folder = self._mirror.show({path: self._blobs.get(oid, b"") for path, oid in state})
            if scan is None:
                scan = self._scans[state] = dvc_files.read_data_refs(folder, [p for p, _ in state])
            if declared is None:
                declared = self._declared[declarations] = dvc_files.declared_files(
                    folder, [p for p, _ in declarations]
                )
        return scan, declared


class _Mirror:
    """A scratch folder made to hold exactly the files given, rewriting only what changed.

    Consecutive commits mostly share their DVC files, and creating files is the slow
    part on many file systems, so the folder is updated, not rebuilt, per commit.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._held: dict[str, bytes] = {}

    def show(self, files: dict[str, bytes]) -> Path:
        """Make the folder hold `files` (repo path -> content) and nothing else."""
        files = {path: data for path, data in files.items() if _safe_path(path)}
        try:
            self._update(files)
        except OSError:  # a path that was a file is now a folder, or the reverse
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder.mkdir()
            self._held = {}
            self._update(files)
        return self._folder

    def _update(self, files: dict[str, bytes]) -> None:
        for path in [p for p in self._held if p not in files]:
            (self._folder / path).unlink(missing_ok=True)
            del self._held[path]
        for path, data in files.items():
            if self._held.get(path) != data:
                target = self._folder / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                self._held[path] = data


def _params_or_error(name: str, raw: bytes) -> list[Param] | str:
    from ledger.capture.params import params_from, parse_params

    try:
        return params_from(parse_params(name, raw), name)
    except ValueError as e:
        return str(e)


def _is_dvc_file(path: str) -> bool:
    pure = PurePosixPath(path)
    return pure.name in ("dvc.lock", "dvc.yaml") or pure.suffix == ".dvc"


def _safe_path(name: str) -> bool:
    """Git never stores `..` or absolute paths, but a scratch write must not trust that."""
    parts = name.split("/")
    return not name.startswith("/") and all(p not in ("", ".", "..") for p in parts)
