"""What reading framework logs adds to the end of a run: a run that wrote a 10 MB
TensorBoard event file and a 5,000-row Lightning `metrics.csv`, against one that wrote
neither, in the same repository and the same process (`capture_after`, alternated).

The event file holds what a training run's holds: a scalar per tag and step from
torch's `SummaryWriter` (one event each), and weight histograms, which make up most of
its bytes. A run that wrote a file of scalars only, the reader's worst case (every
record decoded and its CRC checked), is timed too.
Files are encoded from the TFRecord and protobuf specs (the unit tests check the
reader against the real writers).
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
import time
from typing import TYPE_CHECKING

import _common as c

from ledger.capture.after import capture_after
from ledger.capture.before import capture_before
from ledger.capture.framework_logs import COPIED_FILES, copy_row_logs, read_framework_logs
from ledger.capture.framework_logs.crc32c import masked_crc32c
from ledger.core.ids import new_run_id
from ledger.store.workspace import locate

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

GOAL = 0.2
"""Seconds the readers may add to the end of such a run."""

TAGS = ("train/loss", "train/acc", "val/loss", "lr")


def main(argv: Sequence[str] | None = None) -> int:
    opts = c.parse_args(__doc__ or "", argv)
    target, rows, repeats = (1_000_000, 500, 2) if opts.quick else (10 * 1024 * 1024, 5_000, 5)
    work = c.work_dir("framework-logs")
    env = c.bench_env(work / "home")
    repo = c.make_repo(work / "repo", env=env, files=200)
    (repo / ".gitignore").write_text("lightning_logs/\n")
    os.environ.clear()
    os.environ.update(env)
    os.chdir(repo)
    ws = locate(need_repo=True)
    c.say(c.machine())
    events = _event_file(rows, target, scalars_only=False)
    worst = _event_file(rows, target, scalars_only=True)
    csv = _metrics_csv(rows)

    cpu: dict[str, list[float]] = {"neither": [], "logs": [], "scalars": []}

    def end_of_run(case: str, files: dict[str, bytes]) -> float:
        shutil.rmtree(repo / "lightning_logs", ignore_errors=True)
        before = capture_before(ws, new_run_id(), ["python", "train.py"])
        started = time.time()
        for name, raw in files.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_bytes(raw)
        start, start_cpu = time.perf_counter(), time.process_time()
        after = capture_after(ws, before, started_at=started)
        elapsed = time.perf_counter() - start
        cpu[case].append(time.process_time() - start_cpu)
        read = {key for per_file in after.series.values() for key in per_file}
        if files and not all(any(key.endswith(tag) for key in read) for tag in TAGS):
            raise RuntimeError(f"the events were not read as this run's: {after.errors}")
        return elapsed

    logs = {
        "lightning_logs/version_0/metrics.csv": csv,
        "lightning_logs/version_0/events.out.tfevents.1.h": events,
    }
    scalars = {**logs, "lightning_logs/version_0/events.out.tfevents.1.h": worst}
    times = c.alternate(
        {
            "neither": lambda: end_of_run("neither", {}),
            "logs": lambda: end_of_run("logs", logs),
            "scalars": lambda: end_of_run("scalars", scalars),
        },
        repeats,
    )
    base, with_logs, with_scalars = (c.median(times[k]) for k in ("neither", "logs", "scalars"))
    readers = {
        "metrics.csv": _read_only(repo, "lightning_logs/version_0/metrics.csv", csv, repeats),
        "events (training mix)": _read_only(
            repo, "lightning_logs/version_0/events.out.tfevents.1.h", events, repeats
        ),
        "events (scalars only)": _read_only(
            repo, "lightning_logs/version_0/events.out.tfevents.1.h", worst, repeats
        ),
    }
    copied = _start_copies(repo, csv, repeats)
    c.table(
        f"End of a run (capture_after), median of {repeats}; CPU: this process's own",
        ("case", "wall", "CPU"),
        [
            ("run that wrote neither (baseline)", c.seconds(base), c.seconds(c.median(cpu["neither"]))),
            (
                f"run that wrote {len(events) / 2**20:.1f} MB of events + {rows}-row metrics.csv",
                c.seconds(with_logs),
                c.seconds(c.median(cpu["logs"])),
            ),
            (
                f"run that wrote {len(worst) / 2**20:.1f} MB of scalar events only + {rows}-row metrics.csv",
                c.seconds(with_scalars),
                c.seconds(c.median(cpu["scalars"])),
            ),
        ],
    )
    c.table(
        "Readers alone",
        ("file", "size", "wall", "CPU"),
        [
            (name, f"{len(raw) / 2**20:.2f} MB", c.seconds(wall), c.seconds(used))
            for (name, (wall, used)), raw in zip(readers.items(), (csv, events, worst), strict=True)
        ],
    )
    c.say(
        f"start of a run beside {COPIED_FILES} earlier runs' {rows}-row metrics.csv "
        f"(copied): {c.seconds(copied)}"
    )
    for case, label, wall in (("logs", "training mix", with_logs), ("scalars", "scalars only", with_scalars)):
        added = wall - base
        added_cpu = c.median(cpu[case]) - c.median(cpu["neither"])
        c.say(
            f"added by the readers: {c.seconds(added)} wall ({c.ratio(wall / base)} the baseline), "
            f"{c.seconds(added_cpu)} CPU, {label} (a loaded machine stretches the wall time)"
        )
        c.say(
            f"goal ({label}): under {GOAL} s added: {c.verdict(added < GOAL)} (wall), "
            f"{c.verdict(added_cpu < GOAL)} (CPU)"
        )
    return 0


def _read_only(repo: Path, name: str, raw: bytes, repeats: int) -> tuple[float, float]:
    """Median wall and CPU time of the readers on one file."""
    shutil.rmtree(repo / "lightning_logs", ignore_errors=True)
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_bytes(raw)
    wall: list[float] = []
    used: list[float] = []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        read_framework_logs(repo, [name], since=0.0, copies={})
        wall.append(time.perf_counter() - start)
        used.append(time.process_time() - start_cpu)
    return c.median(wall), c.median(used)


def _start_copies(repo: Path, csv: bytes, repeats: int) -> float:
    shutil.rmtree(repo / "lightning_logs", ignore_errors=True)
    found = {}
    for n in range(COPIED_FILES):
        name = f"lightning_logs/version_{n}/metrics.csv"
        (repo / name).parent.mkdir(parents=True)
        (repo / name).write_bytes(csv)
        found[name] = float(n)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        copy_row_logs(repo, found)
        times.append(time.perf_counter() - start)
    shutil.rmtree(repo / "lightning_logs")
    return c.median(times)


def _metrics_csv(rows: int) -> bytes:
    """Lightning's CSVLogger: training rows every step, a validation row every 50, CRLF."""
    lines = ["epoch,step,train_loss,val_loss,val_acc"]
    for step in range(rows):
        epoch = step // 50
        if step % 50 == 49:
            lines.append(f"{epoch},{step},,{1 / (step + 2)!r},{step / rows!r}")
        else:
            lines.append(f"{epoch},{step},{1 / (step + 1)!r},,")
    return ("\r\n".join(lines) + "\r\n").encode()


def _event_file(steps: int, target: int, *, scalars_only: bool) -> bytes:
    """Records up to `target` bytes: scalars at each step; with histograms of 1,000
    buckets in between unless `scalars_only`.

    The file is made once, before the timed runs; its events are stamped a day ahead so
    that each run counts every one as its own, as a run that wrote them would (events
    older than a run's start are checked but not kept)."""
    ahead = time.time() + 86_400
    out = bytearray(_record(_event(0.0, 0, b"")))
    step = 0
    while len(out) < target:
        s = step % steps
        for tag in TAGS:
            out += _record(_event(ahead, s, _value(tag, _f32(2, 1.0 / (s + 1)))))
        if not scalars_only and s % 2 == 0:
            buckets = struct.pack("<1000d", *range(1000))
            histo = _len(6, buckets) + _len(7, buckets)
            out += _record(_event(ahead, s, _value("weights", _len(5, histo))))
        step += 1
    return bytes(out)


def _event(wall_time: float, step: int, summary_value: bytes) -> bytes:
    data = _key(1, 1) + struct.pack("<d", wall_time) + _key(2, 0) + _varint(step)
    return data + (_len(5, _len(1, summary_value)) if summary_value else b"")


def _value(tag: str, payload: bytes) -> bytes:
    return _len(1, tag.encode()) + payload


def _f32(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", value)


def _len(field: int, payload: bytes) -> bytes:
    return _key(field, 2) + _varint(len(payload)) + payload


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _record(data: bytes) -> bytes:
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", masked_crc32c(head)) + data + struct.pack("<I", masked_crc32c(data))


if __name__ == "__main__":
    sys.exit(main())
