"""The captured log keeps each stream's lines whole, whatever the interleaving."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from ledger.capture.log_tee import PIECE, LogCapture

if TYPE_CHECKING:
    from pathlib import Path


def _pipes(capture: LogCapture, count: int) -> list[int]:
    writers = []
    for _ in range(count):
        read, write = os.pipe()
        capture.pump(read, None)
        writers.append(write)
    return writers


def test_a_line_written_in_two_pieces_is_not_split_by_the_other_stream() -> None:
    capture = LogCapture(max_bytes=1 << 20)
    out, err = _pipes(capture, 2)

    os.write(err, b"token abc")  # print() writes the text, then the newline
    time.sleep(0.05)
    os.write(out, b"epoch 1\n")
    time.sleep(0.05)
    os.write(err, b"\n")
    for fd in (out, err):
        os.close(fd)
    data, total, truncated = capture.finish()

    assert sorted(data.splitlines(keepends=True)) == [b"epoch 1\n", b"token abc\n"]
    assert (total, truncated) == (len(data), False)


def test_carriage_returns_and_an_unfinished_last_line_are_kept() -> None:
    capture = LogCapture(max_bytes=1 << 20)
    (out,) = _pipes(capture, 1)

    os.write(out, b" 10%\r 50%\r100%\rdone")
    os.close(out)

    assert capture.finish()[0] == b" 10%\r 50%\r100%\rdone"


def test_a_very_long_line_is_spooled_before_it_ends(tmp_path: Path) -> None:
    """The spool is what survives a crash: a huge unfinished line must not sit in memory."""
    spool = tmp_path / "log.spool"
    capture = LogCapture(max_bytes=1 << 22, spool_path=spool)
    (out,) = _pipes(capture, 1)

    os.write(out, b"x" * (PIECE + 10))
    deadline = time.monotonic() + 5
    while (not spool.exists() or spool.stat().st_size < PIECE) and time.monotonic() < deadline:
        time.sleep(0.01)
    spooled = spool.stat().st_size
    os.close(out)

    assert spooled >= PIECE
    assert capture.finish()[0] == b"x" * (PIECE + 10)


def test_a_line_printed_between_progress_bar_redraws_is_never_glued_to_them() -> None:
    capture = LogCapture(max_bytes=1 << 20)
    bar_read, bar_write = os.pipe()
    out_read, out_write = os.pipe()
    capture.pump(bar_read, None)
    capture.pump(out_read, None)

    os.write(bar_write, b"\r 20%|##  | 1/5\r 40%|####| 2/5")
    time.sleep(0.2)  # the bar's pump has read its redraws before the epoch line comes
    os.write(out_write, b"Epoch 2/3 - loss: 0.25\n")
    time.sleep(0.2)
    os.write(bar_write, b"\r100%|#####| 5/5\n")
    os.close(bar_write)
    os.close(out_write)
    data, _, _ = capture.finish()

    assert data == b"Epoch 2/3 - loss: 0.25\n\r 20%|##  | 1/5\r 40%|####| 2/5\r100%|#####| 5/5\n"
