"""16 training processes logging metrics into one PostgreSQL ledger at once, against one.

Each writer is a real script using the Python API (`ledger.start_run`,
`ledger.log_metrics`) in a git repository, with LEDGER_URL on a fresh PostgreSQL
schema and a short flush interval, so points reach the server as many small chunk
writes while the other writers do the same. Writers capture their run first, then
wait at a barrier and start logging together; the total rate is all points over the
span from that start to the last writer's end of `with` (final flush and status). Every point is then counted in the database. Needs LEDGER_TEST_PG_URL
(default: the development server on 127.0.0.1:5432).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from typing import TYPE_CHECKING

import _common as c

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

PG_URL = os.environ.get("LEDGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WRITERS = 16
FULL_STEPS = 200_000
QUICK_STEPS = 2_000
KEYS = ("loss", "acc", "lr")
FLUSH_INTERVAL = "0.25"
"""Seconds between the API's background flushes: many small writes, the hard case."""

WRITER = """
import json, pathlib, sys, time
import ledger

steps, out = int(sys.argv[1]), sys.argv[2]
with ledger.start_run(name=f"writer-{sys.argv[3]}"):
    pathlib.Path(out + ".ready").touch()
    while not pathlib.Path(sys.argv[4]).exists():  # every writer starts logging at once
        time.sleep(0.005)
    first = time.time()
    for step in range(steps):
        ledger.log_metrics({"loss": 1.0 / (step + 1), "acc": step / steps, "lr": 0.001}, step=step)
    last_logged = time.time()
done = time.time()
with open(out, "w") as f:
    json.dump({"first": first, "logged": last_logged, "done": done}, f)
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one writer, then sixteen at once, each into a fresh schema."""
    opts = c.parse_args(__doc__ or "", argv)
    steps = QUICK_STEPS if opts.quick else FULL_STEPS
    sys.path.insert(0, str(c.ROOT))
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    work = c.work_dir("pg_writers")
    env = c.bench_env(work / "home")
    repo = c.make_repo(work / "repo", env=env)
    (repo / "writer.py").write_text(textwrap.dedent(WRITER))
    c.git(repo, "add", "writer.py", env=env)
    c.git(repo, "commit", "-q", "-m", "writer", env=env)
    c.say(c.machine())
    c.say(
        f"{len(KEYS)} keys x {steps:,} steps = {len(KEYS) * steps:,} points per writer, "
        f"flush every {FLUSH_INTERVAL}s, into PostgreSQL"
    )
    admin = create_engine(PG_URL, poolclass=NullPool)
    rows = []
    try:
        single = _case(admin, text, repo, env, work, writers=1, steps=steps)
        many = _case(admin, text, repo, env, work, writers=WRITERS, steps=steps)
    finally:
        admin.dispose()
    for label, result in (("one writer", single), (f"concurrent writers: {WRITERS}", many)):
        rows.append(
            [
                label,
                result["points"],
                result["stored"],
                c.seconds(result["span"]),
                round(result["points"] / result["span"]),
                c.seconds(result["slowest"]),
            ]
        )
    c.table(
        "Metric points into one PostgreSQL ledger (span: first log_metrics .. last run closed)",
        ["case", "points", "stored", "span", "total points/s", "slowest writer"],
        rows,
    )
    speedup = (many["points"] / many["span"]) / (single["points"] / single["span"])
    c.say(f"\n{WRITERS} writers vs 1: {c.ratio(speedup)} the total rate (2 CPUs are shared by all writers)")
    c.say(f"\n{c.machine()}")
    return 0


def _case(
    admin: object, text: object, repo: Path, env: dict[str, str], work: Path, *, writers: int, steps: int
) -> dict[str, float]:
    """Run `writers` scripts at once into a new schema; their timings and the stored count."""
    from sqlalchemy.engine import make_url

    from ledger.read.queries import get_series, list_runs
    from ledger.store.engine import connect
    from ledger.store.policies import drop_groups

    schema = f"bench_writers_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))  # type: ignore[operator]
    url = (
        make_url(PG_URL)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        connect(url).close()  # schema creation is not what is measured
        child_env = {**env, "LEDGER_URL": url, "LEDGER_FLUSH_INTERVAL": FLUSH_INTERVAL}
        outs = [work / f"writer-{writers}-{i}.json" for i in range(writers)]
        go = work / f"go-{writers}"
        procs = [
            subprocess.Popen(
                [c.PYTHON, "writer.py", str(steps), str(out), str(i), str(go)],
                cwd=repo,
                env=child_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i, out in enumerate(outs)
        ]
        while not all(o.with_name(o.name + ".ready").exists() for o in outs):
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.01)
        go.touch()
        for proc in procs:
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"a writer failed:\n{err}")
        times = [json.loads(o.read_text()) for o in outs]
        store = connect(url)
        try:
            stored = sum(
                len(get_series(store, run.id, key)) for run in list_runs(store, limit=None) for key in KEYS
            )
        finally:
            store.close()
    finally:
        with admin.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))  # type: ignore[operator]
            drop_groups(conn, make_url(PG_URL).database or "", schema)
    points = writers * steps * len(KEYS)
    if stored != points:
        raise RuntimeError(f"lost points: {points} logged, {stored} stored")
    start = min(t["first"] for t in times)
    end = max(t["done"] for t in times)
    return {
        "points": points,
        "stored": stored,
        "span": end - start,
        "slowest": max(t["done"] - t["first"] for t in times),
    }


if __name__ == "__main__":
    raise SystemExit(main())
