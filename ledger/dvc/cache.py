"""The DVC cache and config, read as DVC lays them out, without importing DVC.

Reproduction restores data from the cache; commit capture reads results DVC keeps in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ledger.dvc.files import DataRef


def find_cache(root: Path) -> Path:
    """The repository's DVC cache folder: `cache.dir` of its config, else `.dvc/cache`."""
    dot_dvc = root / ".dvc"
    local = parse_config(read_text(dot_dvc / "config.local"))
    cache = local.get("cache", {}).get("dir") or parse_config(read_text(dot_dvc / "config")).get(
        "cache", {}
    ).get("dir")
    return absolute(dot_dvc, cache) if cache else dot_dvc / "cache"


def read_object(cache_dir: Path, algorithm: str, value: str) -> bytes | None:
    """A file's content from the cache by its hash (DVC 3 or DVC 2 layout), None if absent."""
    try:
        return object_path(cache_dir, algorithm, value).read_bytes()
    except OSError:
        return None


def in_cache(cache_dir: Path, ref: DataRef) -> bool:
    """Whether the cache holds the object (for a directory: its manifest and every file;
    for one listed file by file: every file, as DVC keeps no manifest for it)."""
    if ref.files:
        return all(object_path(cache_dir, ref.algorithm, f.md5).is_file() for f in ref.files)
    path = object_path(cache_dir, ref.algorithm, ref.value)
    if not path.is_file():
        return False
    if not ref.is_dir:
        return True
    try:
        manifest = json.loads(path.read_bytes())
        return all(object_path(cache_dir, ref.algorithm, entry["md5"]).is_file() for entry in manifest)
    except (OSError, ValueError, TypeError, KeyError):
        return False


def object_path(cache_dir: Path, algorithm: str, value: str) -> Path:
    """Where the cache keeps an object, whether or not it is there."""
    # DVC 3 keeps `hash: md5` objects under files/md5/; DVC 2's sit at the cache's top.
    base = cache_dir / "files" / "md5" if algorithm == "md5" else cache_dir
    return base / value[:2] / value[2:]


def read_text(path: Path) -> str:
    """A config file's text; a missing or unreadable one reads as empty, as DVC treats it."""
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def parse_config(text: str) -> dict[str, dict[str, str]]:
    """DVC's configobj INI: `[core]`, `['remote "name"']`, `key = value` lines."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(_unquote(line[1:-1].strip()), {})
        elif "=" in line and current is not None:
            key, value = line.split("=", 1)
            current[key.strip()] = _unquote(value.strip())
    return sections


def render_config(sections: Mapping[str, Mapping[str, str]]) -> str:
    """The inverse of `parse_config`, for a config DVC will read in a worktree."""
    lines = []
    for name, values in sections.items():
        lines.append(f"['{name}']" if " " in name else f"[{name}]")
        lines += [f"    {key} = {value}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def absolute(base: Path, path: str) -> Path:
    """A path from a DVC config, relative to the config's folder as DVC reads it."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else (base / candidate).resolve()
