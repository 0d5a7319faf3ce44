"""Check recorded DVC hashes against the workspace, computed exactly as DVC 3 does.

Reading DVC's files is `ledger.dvc.files`; this is the disk side: md5 of files, DVC 3's
`.dir` manifest hash of directories, and a stat-keyed cache so unchanged data is
never read twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.errors import CaptureError
from ledger.core.records import OutputFile
from ledger.dvc.files import dir_digest

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.dvc.files import DataRef

HASH_MAX_BYTES = 8 * 1024**3
"""Files larger than this are recorded by size only: hashing them would hold up the run's end."""
CHUNK_SIZE = 1 << 20
"""Bytes read per step when hashing, so a 100 GB file never sits in memory."""
_RACY_NS = 2_000_000_000
"""Files modified this recently are not cached: a rewrite within the same mtime tick
would keep its stat key (git's "racily clean" problem)."""
_CACHE_VERSION = 1
_SKIP_DIRS = frozenset({".git", ".hg", ".dvc"})
"""Directory names DVC's default ignore list drops from a tracked directory."""


def workspace_matches(
    root: Path, refs: Sequence[DataRef], *, cache_path: Path | None = None
) -> dict[str, bool | None]:
    """Tell, per ref path, whether the workspace holds exactly the recorded data.

    False when the path is missing or of the wrong kind. None when only DVC could
    tell: legacy `md5-dos2unix` hashes, unreadable files, directories below a
    `.dvcignore` with patterns (we do not reimplement its matching). With
    `cache_path`, file hashes are kept in a JSON file keyed by (path, size,
    mtime_ns, inode), so checking unchanged data again costs only `stat` calls.
    """
    cache = _HashCache(cache_path)
    result = {ref.path: _matches(root, ref, cache) for ref in refs}
    cache.save()
    return result


def file_record(root: Path, path: str) -> OutputFile:
    """A file's md5 and size as the record keeps it; a file past `HASH_MAX_BYTES` gets no hash.

    Raises:
        OSError: the file is gone.
        CaptureError: the file cannot be read.
    """
    full = root / path
    size = full.stat().st_size
    value = hash_file(full) if size <= HASH_MAX_BYTES else None
    return OutputFile(path=path, algorithm="md5", value=value, size=size)


def hash_file(path: Path) -> str:
    """Return the md5 hex digest of a file's bytes, as DVC 3 records it.

    Raises:
        CaptureError: the file cannot be read.

    """
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with path.open("rb") as fobj:
            while chunk := fobj.read(CHUNK_SIZE):
                digest.update(chunk)
    except OSError as exc:
        raise CaptureError(f"cannot hash {path}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def _matches(root: Path, ref: DataRef, cache: _HashCache) -> bool | None:
    if ref.algorithm != "md5":
        return None  # DVC 2's dos2unix text heuristic is not worth copying
    path = root / ref.path
    try:
        if ref.is_dir:
            return path.is_dir() and _dir_matches(root, path, ref, cache)
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return False
        if ref.size is not None and ref.size != info.st_size:
            return False  # no need to read a file whose size changed
        return cache.md5(path, info) == ref.value
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, CaptureError):
        return None


def _dir_matches(root: Path, path: Path, ref: DataRef, cache: _HashCache) -> bool | None:
    """Rebuild DVC 3's `.dir` hash: dvc_data's `_build_tree` then `Tree.digest`.

    That is the md5 of `json.dumps(..., sort_keys=True)` over `{"md5", "relpath"}`
    per file, sorted by relpath (so empty directories leave no trace), walking like
    `os.walk` (symlinked directories not followed) minus `.git`, `.hg` and `.dvc`
    directories, `.git` files and nested DVC repos. Other dotfiles, a `.gitignore`
    inside the directory included, are data like any file.
    """
    if _dvcignore_active(root, path):
        return None
    found: list[tuple[str, Path, os.stat_result]] = []
    for dirpath, dirnames, filenames in os.walk(path):
        here = Path(dirpath)
        if ".dvcignore" in filenames:
            return None  # `dvc add` refuses such a directory: nothing to compare
        dirnames[:] = (d for d in dirnames if d not in _SKIP_DIRS and not (here / d / ".dvc").exists())
        for file in (here / name for name in filenames if name != ".git"):
            found.append((file.relative_to(path).as_posix(), file, file.stat()))
    size = sum(info.st_size for *_, info in found)
    if ref.nfiles not in (None, len(found)) or ref.size not in (None, size):
        return False  # a file was added, removed or resized: no need to read any
    return dir_digest((rel, cache.md5(file, info)) for rel, file, info in found) == ref.value


def _dvcignore_active(root: Path, path: Path) -> bool:
    """Whether a `.dvcignore` in `root` or above `path` inside it has a pattern."""
    for folder in (root / parent for parent in path.relative_to(root).parents):
        try:
            lines = (folder / ".dvcignore").read_text(errors="replace").splitlines()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return True
        if any(line.strip() and not line.lstrip().startswith("#") for line in lines):
            return True
    return False


class _HashCache:
    """md5 per (absolute path, size, mtime_ns, inode), kept in a JSON file if asked."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._entries: dict[str, list[int | str]] = {}
        self._dirty = False
        if path is not None:
            with contextlib.suppress(OSError, ValueError):  # a bad cache is just empty
                data = json.loads(path.read_text())
                ok = isinstance(data, dict) and data.get("version") == _CACHE_VERSION
                if ok and isinstance(entries := data.get("entries"), dict):
                    self._entries = entries

    def md5(self, path: Path, info: os.stat_result) -> str:
        key = str(path.absolute())  # not resolve(): no symlink lookups per file
        stamp: list[int | str] = [info.st_size, info.st_mtime_ns, info.st_ino]
        cached = self._entries.get(key)
        if isinstance(cached, list) and len(cached) == 4 and cached[:3] == stamp:
            return str(cached[3])
        value = hash_file(path)
        if time.time_ns() - info.st_mtime_ns > _RACY_NS:
            self._entries[key] = [*stamp, value]
            self._dirty = True
        return value

    def save(self) -> None:
        if self._path is None or not self._dirty:
            return
        tmp = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        data = {"version": _CACHE_VERSION, "entries": self._entries}
        # The cache only saves time: failing to write it must never fail a capture.
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(data))
            tmp.replace(self._path)  # atomic: concurrent hooks never see half a file
