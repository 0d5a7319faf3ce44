"""A one-line progress bar on stderr for long copies (`ledger sync`, `ledger export`)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
"""Characters of the bar itself."""

EVERY = 0.1
"""Seconds between redraws: redrawing per item would cost more than the work."""


class ProgressBar:
    """Redraws `[####      ] 1,200/10,000 runs  850/s` in place; silent off a terminal."""

    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._start = time.perf_counter()
        self._drawn = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        """Report progress; draws at most every `EVERY` seconds, and always at the end."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < total and now - self._drawn < EVERY:
            return
        self._drawn = now
        filled = WIDTH if total == 0 else WIDTH * done // total
        rate = done / max(now - self._start, 1e-9)
        bar = "#" * filled + " " * (WIDTH - filled)
        self.stream.write(f"\r[{bar}] {done:,}/{total:,} {self.label}  {rate:,.0f}/s")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        """End the bar's line so later messages start on their own."""
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
