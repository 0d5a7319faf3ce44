"""The runs table's chosen columns, kept in a small JSON file in the ledger's folder.

Why a file next to the ledger and not `[tool.ledger]` in pyproject.toml: column
choices are a personal view, not project configuration; writing them into a
tracked file would dirty the work tree (and every run's snapshot) each time
someone rearranges the table. The ledger folder lives in the git common dir, so
every worktree of the repository shares the choice and it is never committed.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

FILENAME = "ui.json"
"""Settings file name inside the ledger folder (`ledger where` shows the folder)."""

BASE_COLUMNS = ("status", "age", "name", "id", "commit", "subject", "branch", "tags", "duration", "spark")
"""Columns every run has, in display order."""

DEFAULT_BASE = ("status", "age", "name", "id", "commit", "subject", "branch", "tags", "spark")


@dataclass(frozen=True, slots=True)
class UiSettings:
    """What the runs table shows; None means "choose automatically", as `ledger list` does."""

    base: tuple[str, ...] = DEFAULT_BASE
    """Run columns shown, from BASE_COLUMNS."""
    params: tuple[str, ...] | None = None
    """Param columns; None: the params that differ between the newest runs."""
    metrics: tuple[str, ...] | None = None
    """Metric columns; None: the metrics most of the newest runs have."""
    main_metric: str | None = None
    """The series drawn as a sparkline; None: the series most runs log."""
    problems: tuple[str, ...] = field(default=(), compare=False)
    """Why the file was (partly) ignored, to show once."""


def load_settings(path: Path | None) -> UiSettings:
    """Read settings; a missing file gives the defaults, a broken one too (with a problem)."""
    if path is None:
        return UiSettings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return UiSettings()
    except (OSError, ValueError) as e:
        return UiSettings(problems=(f"{path} is unreadable ({e}); using the default columns",))
    if not isinstance(raw, dict):
        return UiSettings(problems=(f"{path} does not hold a JSON object; using the default columns",))
    problems: list[str] = []
    base = _names(raw.get("base"), "base", problems)
    unknown = [b for b in base or () if b not in BASE_COLUMNS]
    if unknown:
        problems.append(f"unknown columns ignored: {', '.join(unknown)}")
    main = raw.get("main_metric")
    return UiSettings(
        base=DEFAULT_BASE if base is None else tuple(b for b in base if b in BASE_COLUMNS),
        params=_names(raw.get("params"), "params", problems),
        metrics=_names(raw.get("metrics"), "metrics", problems),
        main_metric=main if isinstance(main, str) and main else None,
        problems=tuple(problems),
    )


def save_settings(path: Path | None, settings: UiSettings) -> None:
    """Write settings atomically (a crash never leaves half a file)."""
    if path is None:
        return
    data: dict[str, Any] = asdict(settings)
    data.pop("problems")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _names(value: object, key: str, problems: list[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    problems.append(f"{key!r} must be a list of names; choosing automatically")
    return None
