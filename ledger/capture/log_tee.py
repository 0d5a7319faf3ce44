"""Tee a child's output to the terminal while keeping a size-capped copy for the ledger.

The first half of the cap is kept (and spooled to disk as it arrives, so a crash
keeps it); the second half is a ring of the newest bytes. What falls between is
replaced by one marker line, the way CI systems trim huge logs.
"""

from __future__ import annotations

import os
import threading
import zlib
from typing import TYPE_CHECKING, BinaryIO

from ledger.core.redact import redact_text

if TYPE_CHECKING:
    from pathlib import Path


_SPOOL_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND

PIECE = 65536
"""Bytes of an unfinished line kept back before they go into the capture anyway."""


class LogCapture:
    """Collects the bytes of one or more streams; thread-safe."""

    def __init__(self, *, max_bytes: int, spool_path: Path | None = None) -> None:
        self._half = max(max_bytes // 2, 1)
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0
        self._lock = threading.Lock()
        # Owner-only: the raw output may hold secrets until it is ingested, redacted.
        self._spool = None if spool_path is None else os.open(spool_path, _SPOOL_FLAGS, 0o600)
        self._threads: list[threading.Thread] = []

    def pump(self, fd: int, echo: BinaryIO | None) -> None:
        """Copy everything from `fd` to `echo` and the capture, in a thread."""
        thread = threading.Thread(target=self._pump, args=(fd, echo), daemon=True)
        thread.start()
        self._threads.append(thread)

    def add(self, data: bytes) -> None:
        """Record bytes (also used for lines the wrapper itself writes)."""
        with self._lock:
            self._total += len(data)
            room = self._half - len(self._head)
            if room > 0:
                self._head += data[:room]
                if self._spool is not None:
                    os.write(self._spool, data[:room])
                data = data[room:]
            if data:
                self._tail += data
                if len(self._tail) > self._half:
                    del self._tail[: len(self._tail) - self._half]

    def finish(self) -> tuple[bytes, int, bool]:
        """Wait for the streams to end; return (kept bytes, total size, truncated)."""
        for thread in self._threads:
            thread.join()
        with self._lock:
            if self._spool is not None:
                os.close(self._spool)
                self._spool = None
            dropped = self._total - len(self._head) - len(self._tail)
            if dropped <= 0:
                return bytes(self._head + self._tail), self._total, False
            marker = f"\n[... exp-ledger dropped {dropped} bytes of output here ...]\n".encode()
            return bytes(self._head + marker + self._tail), self._total, True

    def _pump(self, fd: int, echo: BinaryIO | None) -> None:
        # Only whole lines go into the capture: stdout and stderr are read by two
        # threads, and a line written in two pieces (`print` writes the text, then the
        # newline) must not get the other stream's output spliced into it. A progress
        # bar's redraws (`\r`) stay one line with it, so an epoch line printed between
        # two bars is never glued to one; a piece longer than PIECE goes in as is.
        pending = bytearray()
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            if echo is not None:
                try:
                    echo.write(data)
                    echo.flush()
                except (OSError, ValueError):
                    echo = None  # the terminal went away; keep capturing
            pending += data
            end = pending.rfind(b"\n") + 1
            if end == 0 and len(pending) >= PIECE:
                end = len(pending)
            if end:
                self.add(bytes(pending[:end]))
                del pending[:end]
        if pending:
            self.add(bytes(pending))
        os.close(fd)


def compress_log(data: bytes, *, known: frozenset[str] = frozenset()) -> bytes:
    """Redact secrets (and the `known` ones the run was given), then compress, as the
    `logs` table stores it."""
    text = redact_text(data.decode("utf-8", errors="replace"), known)
    return zlib.compress(text.encode(), 6)


def decompress_log(data: bytes) -> str:
    """Read back a stored log."""
    return zlib.decompress(data).decode("utf-8", errors="replace")
