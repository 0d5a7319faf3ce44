"""`ledger.log_metrics` latency per call (p50/p99/max) with 8 concurrent writers, and with
a team server that stops answering mid-run, against appending the same JSON line to a
file, measured in the same run.

Each writer is its own process (its own run, one ledger): the background writers of
all eight contend for the ledger's write lock while the training loops log. In the
silent case the writers log into PostgreSQL through a loopback proxy that goes silent
half-way (no reset, no close); the server is `LEDGER_TEST_PG_URL`, else the local one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from array import array
from pathlib import Path
from typing import TYPE_CHECKING

import _common as c

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

WRITERS = 8
FULL_CALLS = 20_000
QUICK_CALLS = 400
STEP_PAUSE = 0.0002
"""Seconds between calls: a training step is never zero work, and the pause keeps
eight loops on two cores from measuring the scheduler only."""
GOAL_P99_MS = 1.0
GOAL_MAX_MS = 50.0
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args and args[0] == "--child":
        return _child(args[1:])
    opts = c.parse_args(__doc__ or "", args)
    calls = QUICK_CALLS if opts.quick else FULL_CALLS
    work = c.work_dir("log_metrics")
    env = c.bench_env(work / "home")  # the default flush interval, as users have it
    if opts.quick:
        # At exit each silent-server writer waits out the end of its run: not a latency
        # this measures, and the smoke run need not sit through it eight times.
        env["LEDGER_END_WAIT"] = "0.5"
    c.say(c.machine())
    c.say(f"log_metrics latency: {WRITERS} writer processes x {calls:,} calls of 3 keys each")

    rows = []
    base = _writers("baseline", c.make_repo(work / "baseline", env=env), calls, env)
    rows.append(["append a JSON line to a file (baseline)", *_figures(base), "", ""])
    local = _writers("ledger", c.make_repo(work / "sqlite", env=env), calls, env)
    rows.append(["log_metrics, 8 writers, one SQLite ledger", *_figures(local), *_verdicts(local)])
    silent = _silent_case(work, calls, env)
    if silent is None:
        rows.append(["log_metrics, 8 writers, server goes silent", "not measured", "", "", "", ""])
    else:
        rows.append(["log_metrics, 8 writers, server goes silent", *_figures(silent), *_verdicts(silent)])
    c.table(
        "log_metrics latency per call (ms), all writers' calls together",
        ["case", "p50", "p99", "max", "p99 < 1 ms", "max < 50 ms"],
        rows,
    )
    base_p99 = _percentile(base, 0.99)
    line = f"\np99 over the baseline's: SQLite {c.ratio(_percentile(local, 0.99) / base_p99)}"
    if silent is not None:
        line += f", silent server {c.ratio(_percentile(silent, 0.99) / base_p99)}"
    c.say(line)
    return 0


def _silent_case(work: Path, calls: int, env: Mapping[str, str]) -> list[float] | None:
    """The writers log into PostgreSQL through a proxy that goes silent half-way."""
    sys.path.insert(0, str(c.ROOT))
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    from ledger.store.policies import drop_groups
    from tests.faults.silent_proxy import SilentProxy

    server = os.environ.get("LEDGER_TEST_PG_URL", PG_DEFAULT)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, poolclass=NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as e:
        c.say(f"silent-server case not measured: no PostgreSQL at {server} ({str(e.orig).strip()[:80]})")
        return None
    parsed = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    proxy = SilentProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    try:
        url = parsed.set(port=proxy.port).render_as_string(hide_password=False)
        repo = c.make_repo(work / "silent", env=env)
        return _writers("ledger", repo, calls, {**env, "LEDGER_URL": url}, on_ready=proxy.go_silent)
    finally:
        proxy.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            drop_groups(conn, make_url(server).database or "", schema)
        admin.dispose()


def _writers(
    kind: str, repo: Path, calls: int, env: Mapping[str, str], *, on_ready: object = None
) -> list[float]:
    """Run the writer processes; half-way through (all of them), call `on_ready`."""
    procs = [
        subprocess.Popen([c.PYTHON, __file__, "--child", kind, str(i), str(calls)], cwd=repo, env=dict(env))
        for i in range(WRITERS)
    ]
    deadline = time.monotonic() + 600
    while not all((repo / f"ready-{i}").exists() for i in range(WRITERS)):
        if any(p.poll() not in (None, 0) for p in procs) or time.monotonic() > deadline:
            raise SystemExit(f"a {kind} writer failed before half-way")
        time.sleep(0.01)
    if callable(on_ready):
        on_ready()
    (repo / "go").touch()
    for p in procs:
        if p.wait(timeout=600):
            raise SystemExit(f"a {kind} writer exited {p.returncode}")
    latencies: list[float] = []
    for i in range(WRITERS):
        latencies += json.loads((repo / f"latency-{i}.json").read_text())
    return latencies


def _child(args: Sequence[str]) -> int:
    """One writer: start its run, log `calls` calls timing each, pausing half-way."""
    kind, index, calls = args[0], int(args[1]), int(args[2])
    here = Path.cwd()
    timings = array("d")
    if kind == "ledger":
        import ledger

        log = ledger.log_metrics
        ledger.log_params({"writer": index})  # starts the run: not a log_metrics call
    else:
        fd = os.open(here / "baseline.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

        def log(metrics: dict[str, float], step: int) -> None:
            os.write(fd, (json.dumps({"step": step, **metrics}) + "\n").encode())

    clock = time.perf_counter_ns
    for step in range(calls):
        if step == calls // 2:
            (here / f"ready-{index}").touch()
            while not (here / "go").exists():
                time.sleep(0.01)
        start = clock()
        log({"loss": 1.0 / (step + 1), "acc": step / calls, "lr": 0.1}, step=step)
        timings.append((clock() - start) / 1e6)
        time.sleep(STEP_PAUSE)
    (here / f"latency-{index}.json").write_text(json.dumps(list(timings)))
    return 0


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _figures(values: Sequence[float]) -> list[str]:
    return [f"{_percentile(values, q):.4f}" for q in (0.5, 0.99)] + [f"{max(values):.3f}"]


def _verdicts(values: Sequence[float]) -> list[str]:
    return [c.verdict(_percentile(values, 0.99) < GOAL_P99_MS), c.verdict(max(values) < GOAL_MAX_MS)]


if __name__ == "__main__":
    raise SystemExit(main())
