"""What keeping secrets out costs: a run's log redacted, and a snapshot's untracked files read.

Baselines measured in the same run: compressing the same log (the other work a stored
log costs), and the same snapshot with the content check turned off.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

import _common as c

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

LOG_LINE = "2024-05-01 INFO epoch=3 step=1200 loss=0.2345 max_tokens=512 processed 1200 tokens per second\n"
PLANTED_LINE = (
    "WARN HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh --password hunter2 url=postgres://u:p@db/x\n"
)


def main(argv: Sequence[str] | None = None) -> int:
    opts = c.parse_args(__doc__ or "", argv)
    import zlib

    from ledger.core.redact import redact_text

    size = 1_000_000 if opts.quick else 10_000_000
    files = 50 if opts.quick else 500
    repeats = 1 if opts.quick else 3
    c.say(c.machine())
    log = (LOG_LINE * 99 + PLANTED_LINE) * (size // (len(LOG_LINE) * 100))
    known = frozenset({"hunter2", "wandb-123456abc"})
    zipped = _best(lambda: zlib.compress(log.encode(), 6), repeats)
    plain = _best(lambda: redact_text(log), repeats)
    with_known = _best(lambda: redact_text(log, known), repeats)
    c.say(f"log of {len(log) / 1e6:.1f} MB: zlib {zipped:.3f}s (baseline)")
    c.say(f"  redact_text {plain:.3f}s ({plain / zipped:.1f}x baseline)")
    c.say(
        f"  redact_text with the run's known secrets {with_known:.3f}s ({with_known / zipped:.1f}x baseline)"
    )

    work = c.work_dir("secrets")
    os.environ.update(c.bench_env(work / "home"))
    repo = c.make_repo(work / "repo", env=os.environ, files=20)
    for i in range(files):
        (repo / f"notes_{i}.py").write_text("x = compute(tokens, lr=0.1)  # training step\n" * 80)
    scanned = _snapshot_time(repo, repeats, scan=True)
    bare = _snapshot_time(repo, repeats, scan=False)
    c.say(f"snapshot with {files} untracked 4 KB files: no content check {bare:.3f}s (baseline)")
    c.say(f"  with the content check {scanned:.3f}s ({scanned / bare:.2f}x baseline)")
    return 0


def _snapshot_time(repo: Path, repeats: int, *, scan: bool) -> float:
    from ledger.git import secret_files
    from ledger.git import snapshot as git

    check = secret_files.secret_in_file
    if not scan:
        secret_files.secret_in_file = lambda _full, _size: None  # type: ignore[assignment] - the baseline
    try:
        with git.open_repo(repo) as handle:
            tree = git.read_worktree(handle)

            def snap() -> None:
                git.make_snapshot(
                    handle,
                    tree,
                    ref="refs/ledger/bench",
                    deny=(),
                    max_file_bytes=1 << 21,
                    max_total_bytes=1 << 27,
                )

            return _best(snap, repeats)
    finally:
        secret_files.secret_in_file = check


def _best(work: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    sys.exit(main())
