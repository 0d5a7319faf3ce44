"""`ledger sync` of 10,000 runs with 100-step series: SQLite -> PostgreSQL, runs/second.

The source ledger is built with bulk inserts (building it through the recorder would
take longer than the sync itself): every run has 5 params, 3 final metrics, 2 tags,
an environment, a log, and 3 series of 100 steps in 2 chunks each, as the API's
timed flushes leave them. Then, each into a fresh PostgreSQL schema: the first sync
(everything copied), a second sync (nothing to copy, every run compared), and the
way back, PostgreSQL -> a new SQLite file. Needs LEDGER_TEST_PG_URL (default: the
development server on 127.0.0.1:5432).
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
import uuid
from array import array
from typing import TYPE_CHECKING

import _common as c

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

PG_URL = os.environ.get("LEDGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FULL_RUNS = 10_000
QUICK_RUNS = 500
STEPS = 100
KEYS = ("loss", "acc", "lr")


def main(argv: Sequence[str] | None = None) -> int:
    """Build the source ledger, then time the syncs."""
    opts = c.parse_args(__doc__ or "", argv)
    runs = QUICK_RUNS if opts.quick else FULL_RUNS
    sys.path.insert(0, str(c.ROOT))
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from ledger.store.engine import connect
    from ledger.store.policies import drop_groups
    from ledger.team.sync import sync

    work = c.work_dir("sync")
    c.say(c.machine())
    source_url = f"sqlite:///{work / 'source.db'}"
    started = time.perf_counter()
    build_source(work / "source.db", runs)
    c.say(f"built a source ledger of {runs:,} runs in {time.perf_counter() - started:.1f}s")

    schema = f"bench_sync_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    pg_url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    target = pg_url.render_as_string(hide_password=False)
    rows = []
    try:
        connect(target).close()  # the schema is created once, outside the timings
        for label, src, dst in [
            ("SQLite -> PostgreSQL, first sync", source_url, target),
            ("SQLite -> PostgreSQL, second sync (no-op)", source_url, target),
            ("PostgreSQL -> new SQLite", target, f"sqlite:///{work / 'back.db'}"),
        ]:
            t0 = time.perf_counter()
            report = sync(src, dst)
            elapsed = time.perf_counter() - t0
            rows.append(
                [label, runs, report.copied, report.unchanged, c.seconds(elapsed), round(runs / elapsed)]
            )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            drop_groups(conn, make_url(PG_URL).database or "", schema)
        admin.dispose()
    c.table(
        f"ledger sync, {runs:,} runs x {len(KEYS)} series x {STEPS} steps",
        ["case", "runs", "copied", "unchanged", "time", "runs/s"],
        rows,
    )
    c.say(f"\n{c.machine()}")
    return 0


def build_source(path: Path, runs: int) -> None:
    """A ledger of `runs` finished runs, written in a few big transactions."""
    from sqlalchemy import insert, select

    from ledger.capture.environment import capture_environment
    from ledger.capture.log_tee import compress_log
    from ledger.core import chunks
    from ledger.core.ids import new_run_id
    from ledger.store import tables
    from ledger.store.engine import connect
    from ledger.store.writes import save_environment

    rng = random.Random(7)
    store = connect(f"sqlite:///{path}")
    env = capture_environment()
    log = compress_log(b"epoch 1 loss 0.5\n" * 50)
    t0 = time.time() - runs * 60
    with store.writing_core() as conn:
        save_environment(store, conn, env)
    for start in range(0, runs, 1000):
        ids = [new_run_id() for _ in range(min(1000, runs - start))]
        with store.writing_core() as conn:
            conn.execute(
                insert(tables.RunRow),
                [
                    {
                        "id": run_id,
                        "name": f"run-{start + i}",
                        "status": "finished",
                        "source": "run",
                        "started_at": t0 + 60 * (start + i),
                        "ended_at": t0 + 60 * (start + i) + 55,
                        "heartbeat_at": t0 + 60 * (start + i) + 55,
                        "exit_code": 0,
                        "argv": '["python", "train.py"]',
                        "host": "gpu-1",
                        "user": "ana",
                        "commit": "a" * 40,
                        "branch": "main",
                        "snapshot": "b" * 40,
                        "dirty": True,
                        "environment_digest": env.digest,
                    }
                    for i, run_id in enumerate(ids)
                ],
            )
            conn.execute(
                insert(tables.ParamRow),
                [
                    {
                        "run_id": r,
                        "key": k,
                        "kind": "float",
                        "num": v,
                        "text": repr(v),
                        "source": "params.yaml",
                    }
                    for r in ids
                    for k, v in (
                        ("lr", rng.random()),
                        ("wd", 0.01),
                        ("dropout", 0.1),
                        ("epochs", 10.0),
                        ("bs", 64.0),
                    )
                ],
            )
            conn.execute(
                insert(tables.TagRow), [{"run_id": r, "tag": t} for r in ids for t in ("sweep", "v2")]
            )
            conn.execute(
                insert(tables.LogRow),
                [{"run_id": r, "size": 850, "truncated": False, "data": log} for r in ids],
            )
            conn.execute(insert(tables.SeriesRow), [{"run_id": r, "key": k} for r in ids for k in KEYS])
            series_ids = {
                (r, k): i
                for r, k, i in conn.execute(
                    select(tables.SeriesRow.run_id, tables.SeriesRow.key, tables.SeriesRow.id).where(
                        tables.SeriesRow.run_id.in_(ids)
                    )
                )
            }
            chunk_rows, finals = [], []
            for r in ids:
                for k in KEYS:
                    values = [math.exp(-s / 30) + 0.05 * rng.random() for s in range(STEPS)]
                    for lo, hi in ((0, STEPS // 2), (STEPS // 2, STEPS)):
                        points = chunks.Points(
                            array("q", range(lo, hi)),
                            array("q", (1_700_000_000_000 + 500 * s for s in range(lo, hi))),
                            array("d", values[lo:hi]),
                        )
                        chunk_rows.append(
                            {
                                "series_id": series_ids[(r, k)],
                                "count": len(points),
                                "first_step": lo,
                                "last_step": hi - 1,
                                "codec": chunks.CODEC,
                                "payload": chunks.encode(points),
                            }
                        )
                    finals.append(
                        {"run_id": r, "key": k, "value": values[-1], "step": STEPS - 1, "source": "api"}
                    )
            conn.execute(insert(tables.MetricChunkRow), chunk_rows)
            conn.execute(insert(tables.MetricRow), finals)
    store.close()


if __name__ == "__main__":
    raise SystemExit(main())
