"""Metric logging through the Python API against a plain sqlite3 executemany ceiling."""

from __future__ import annotations

import json
import math
import random
import sqlite3
import sys
import time
from array import array
from pathlib import Path
from typing import TYPE_CHECKING

import _common as c

if TYPE_CHECKING:
    from collections.abc import Sequence

KEYS = ("loss", "acc", "lr")
FULL_POINTS = 1_000_000
QUICK_POINTS = 30_000
GOAL_RATIO = 0.5
"""Ledger points/s over the sqlite3 ceiling's."""

GOAL_BYTES = 40.0
"""Bytes a metric point may take in the ledger file."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run both cases in clean subprocesses, then measure the ledger file."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] in ("--child-api", "--child-sqlite"):
        return _child(args)
    opts = c.parse_args(__doc__ or "", args)
    points = QUICK_POINTS if opts.quick else FULL_POINTS
    steps = math.ceil(points / len(KEYS))
    total = steps * len(KEYS)
    repeats = 1 if opts.quick else 5
    work = c.work_dir("logging")
    env = c.bench_env(work / "home")
    c.say(c.machine())
    c.say(
        f"metric logging: {total:,} points ({len(KEYS)} keys x {steps:,} steps), "
        f"median of {repeats} run(s) each, every run in a fresh subprocess"
    )

    results: dict[str, list[dict[str, float]]] = {"api": [], "sqlite": []}
    last_repo = work
    for i in range(repeats):
        repo = c.make_repo(work / f"repo{i}", env=env)
        results["api"].append(_spawn("--child-api", repo, steps, env))
        results["sqlite"].append(_spawn("--child-sqlite", work / f"ceiling{i}", steps, env))
        last_repo = repo

    api_total = c.median(r["total_s"] for r in results["api"])
    api_log = c.median(r["log_s"] + r["close_s"] for r in results["api"])
    api_start = c.median(r["start_s"] for r in results["api"])
    api_close = c.median(r["close_s"] for r in results["api"])
    ceiling = c.median(r["total_s"] for r in results["sqlite"])
    rate_total, rate_log, rate_ceiling = total / api_total, total / api_log, total / ceiling
    c.table(
        "Throughput (wall time; points/s = points / time)",
        ["case", "time", "points/s", "vs ceiling", "goal >= 0.5x", "all runs (s)"],
        [
            [
                "sqlite3 executemany, 1 txn (ceiling)",
                c.seconds(ceiling),
                round(rate_ceiling),
                "1.000x",
                "",
                _spread(results["sqlite"], "total_s"),
            ],
            [
                "ledger API, start_run() .. end of with",
                c.seconds(api_total),
                round(rate_total),
                c.ratio(rate_total / rate_ceiling, 3),
                c.verdict(rate_total / rate_ceiling >= GOAL_RATIO),
                _spread(results["api"], "total_s"),
            ],
            [
                "ledger API, 1st log_metrics .. end of with",
                c.seconds(api_log),
                round(rate_log),
                c.ratio(rate_log / rate_ceiling, 3),
                c.verdict(rate_log / rate_ceiling >= GOAL_RATIO),
                " ".join(f"{r['log_s'] + r['close_s']:.2f}" for r in results["api"]),
            ],
        ],
    )
    c.table(
        "Ledger API phases (median)",
        ["phase", "time", "us/call"],
        [
            ["start_run() (capture code/env, open + migrate ledger)", c.seconds(api_start), "-"],
            [
                "log_metrics() x steps",
                c.seconds(api_log - api_close),
                f"{(api_log - api_close) / steps * 1e6:.2f}",
            ],
            ["end of with (final flush, status)", c.seconds(api_close), "-"],
        ],
    )
    _storage(
        last_repo / ".git" / "ledger" / "ledger.db",
        work / f"ceiling{repeats - 1}" / "ceiling.db",
        total,
        work,
    )
    c.say(f"\n{c.machine()}")
    return 0


def values(steps: int) -> tuple[array[float], array[float], array[float]]:
    """Realistic series, seeded: noisy loss and accuracy, a cosine learning rate.

    Noise matters: smooth or constant values would compress to nothing and flatter
    the storage figure.
    """
    rng = random.Random(42)
    loss, acc, lr = array("d"), array("d"), array("d")
    for i in range(steps):
        t = i / steps
        loss.append(2.5 * math.exp(-4 * t) + 0.05 * rng.random())
        acc.append(min(1.0, 0.1 + 0.85 * (1 - math.exp(-5 * t)) + 0.02 * rng.gauss(0, 1)))
        lr.append(1e-3 * 0.5 * (1 + math.cos(math.pi * t)))
    return loss, acc, lr


def _spread(runs: list[dict[str, float]], key: str) -> str:
    return " ".join(f"{r[key]:.2f}" for r in runs)


def _spawn(mode: str, where: Path, steps: int, env: dict[str, str]) -> dict[str, float]:
    where.mkdir(parents=True, exist_ok=True)
    out = where.parent / f"{where.name}.json"
    script = str(Path(__file__).resolve())
    c.run_timed([c.PYTHON, script, mode, str(where), str(steps), str(out)], cwd=where, env=env)
    result: dict[str, float] = json.loads(out.read_text())
    return result


def _child(args: Sequence[str]) -> int:
    mode, where, steps_text, out = args
    steps = int(steps_text)
    series = values(steps)
    if mode == "--child-api":
        timings = _api(steps, series)
    else:
        timings = _ceiling(Path(where) / "ceiling.db", steps, series)
    Path(out).write_text(json.dumps(timings))
    return 0


def _api(steps: int, series: tuple[array[float], array[float], array[float]]) -> dict[str, float]:
    """The documented usage, literally: `ledger.log_metrics(...)` inside `start_run()`."""
    import ledger

    loss, acc, lr = series
    t0 = time.perf_counter()
    with ledger.start_run(name="bench-logging"):
        t1 = time.perf_counter()
        for i in range(steps):
            ledger.log_metrics({"loss": loss[i], "acc": acc[i], "lr": lr[i]}, step=i)
        t2 = time.perf_counter()
    t3 = time.perf_counter()
    return {"start_s": t1 - t0, "log_s": t2 - t1, "close_s": t3 - t2, "total_s": t3 - t0}


def _ceiling(
    path: Path, steps: int, series: tuple[array[float], array[float], array[float]]
) -> dict[str, float]:
    """The same points as rows (series_id, step, value), in logging order.

    Rows are built before the clock starts: this is the database's ceiling, not a
    Python loop's. WAL and synchronous=FULL match how the ledger opens SQLite.
    """
    rows = [(k + 1, i, s[i]) for i in range(steps) for k, s in enumerate(series)]
    t0 = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE points (series_id INTEGER NOT NULL, step INTEGER NOT NULL,"
        " value REAL, PRIMARY KEY (series_id, step))"
    )
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO points VALUES (?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.close()
    t1 = time.perf_counter()
    return {"total_s": t1 - t0}


def _storage(ledger_db: Path, ceiling_db: Path, points: int, work: Path) -> None:
    """Bytes per point, three ways.

    1. File delta: `VACUUM INTO` a compact copy of the ledger, then a copy of that
       with every `metric_chunks` row deleted (the same ledger with the run but no
       points); the size difference over the point count is what points cost on
       disk, page overhead and the series_id index included.
    2. dbstat: pages (incl. overflow pages) of `metric_chunks` and its index in
       the compact copy, over the point count.
    3. Payload: sum of compressed chunk blobs alone, over the point count.
    """
    full, empty = work / "compact.db", work / "compact-no-points.db"
    for path in (full, empty, work / "scratch.db"):
        path.unlink(missing_ok=True)
    with sqlite3.connect(ledger_db) as conn:
        stored = conn.execute("SELECT coalesce(sum(count), 0) FROM metric_chunks").fetchone()[0]
        chunk_rows = conn.execute("SELECT count(*) FROM metric_chunks").fetchone()[0]
        payload = conn.execute("SELECT coalesce(sum(length(payload)), 0) FROM metric_chunks").fetchone()[0]
        conn.execute("VACUUM INTO ?", (str(full),))
    scratch = work / "scratch.db"
    scratch.write_bytes(full.read_bytes())
    with sqlite3.connect(scratch) as conn:
        conn.execute("DELETE FROM metric_chunks")
    with sqlite3.connect(scratch) as conn:
        conn.execute("VACUUM INTO ?", (str(empty),))
    dbstat: int | None
    try:
        with sqlite3.connect(full) as conn:
            dbstat = conn.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name IN (?, ?)",
                ("metric_chunks", "ix_metric_chunks_series_id"),
            ).fetchone()[0]
    except sqlite3.OperationalError:  # SQLite built without SQLITE_ENABLE_DBSTAT_VTAB
        dbstat = None
    ceiling_file = work / "ceiling-compact.db"
    ceiling_file.unlink(missing_ok=True)
    with sqlite3.connect(ceiling_db) as conn:
        conn.execute("VACUUM INTO ?", (str(ceiling_file),))
    delta = full.stat().st_size - empty.stat().st_size
    c.say(
        f"\nledger holds {stored:,} of {points:,} points in {chunk_rows} metric_chunks rows"
        + ("" if stored == points else "  <-- POINTS MISSING")
    )
    c.table(
        "Storage (after VACUUM INTO a compact copy)",
        ["measure", "bytes", "bytes/point", "goal <= 40"],
        [
            [
                "ledger file delta (points vs no points)",
                delta,
                f"{delta / points:.2f}",
                c.verdict(delta / points <= GOAL_BYTES),
            ],
            [
                "dbstat pages of metric_chunks + index",
                "-" if dbstat is None else dbstat,
                "-" if dbstat is None else f"{dbstat / points:.2f}",
                "",
            ],
            ["compressed chunk payloads only", payload, f"{payload / points:.2f}", ""],
            [
                "plain sqlite3 table with PK (ceiling file)",
                ceiling_file.stat().st_size,
                f"{ceiling_file.stat().st_size / points:.2f}",
                "",
            ],
        ],
    )


if __name__ == "__main__":
    raise SystemExit(main())
