"""The one place the version is written: the package, `--version` and crash logs read it."""

from __future__ import annotations

__version__ = "0.1.0"
