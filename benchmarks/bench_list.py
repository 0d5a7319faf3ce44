"""`ledger list` with a filter and a sort, as a whole process, on 10k and 100k runs."""

from __future__ import annotations

import random
import sys
import time
from typing import TYPE_CHECKING, Any

import _common as c

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

FILTER = "params.lr <= 0.01 and metrics.acc > 0.5"
SORT = "-metrics.acc"
LIMIT = 20
GOALS = ((10_000, 0.5), (100_000, 1.0))
"""Seconds `ledger list` may take on a ledger of up to so many runs."""

TAG_POOL = ("baseline", "sweep", "ablation", "best", "gpu", "debug")
METRICS = ("acc", "loss", "val_acc", "val_loss", "f1")


def main(argv: Sequence[str] | None = None) -> int:
    """Build each ledger, then time the command against it."""
    opts = c.parse_args(__doc__ or "", argv)
    sizes = (1_000, 5_000) if opts.quick else (10_000, 100_000)
    repeats = 3 if opts.quick else 5
    work = c.work_dir("list")
    env = c.bench_env(work / "home")
    # A user runs `ledger list` in their repository; the ledger itself comes from LEDGER_URL.
    cwd = c.make_repo(work / "repo", env=env)
    command = [*c.ledger_command(), "list", FILTER, f"--sort={SORT}", "-n", str(LIMIT)]
    c.say(c.machine())
    c.say(
        f"ledger list: {' '.join(command[1:])!s}\nmedian of {repeats} whole-process runs "
        "after one warm-up; each ledger built by bulk insert into the migrated schema"
    )

    context = [
        ("python -c pass", [c.PYTHON, "-c", "pass"]),
        ('python -c "import sqlalchemy.orm"', [c.PYTHON, "-c", "import sqlalchemy.orm"]),
        ('python -c "import ledger.cli.main"', [c.PYTHON, "-c", "import ledger.cli.main"]),
        ('python -c "import ledger.read.queries"', [c.PYTHON, "-c", "import ledger.read.queries"]),
    ]
    rows = [
        [name, c.seconds(c.median_time(argv, cwd=cwd, env=env, repeats=repeats)), "", ""]
        for name, argv in context
    ]
    missed: list[tuple[int, Path]] = []
    for size in sizes:
        db = work / f"ledger-{size}.db"
        built = _build(db, size)
        list_env = {**env, "LEDGER_URL": f"sqlite:///{db}"}
        _, proc = c.run_timed(command, cwd=cwd, env=list_env)  # warm-up, and a sanity check
        shown = [line for line in proc.stdout.splitlines() if line.strip()]
        took = c.median_time(command, cwd=cwd, env=list_env, repeats=repeats, warmup=0)
        query = _in_process(db, repeats)
        goal = next((g for limit, g in GOALS if size <= limit), None)
        ok = goal is None or took < goal
        if not ok:
            missed.append((size, db))
        label = f"ledger list, {size:,} runs"
        rows.append(
            [
                label,
                c.seconds(took),
                "-" if goal is None else f"< {goal} s",
                "" if goal is None else c.verdict(ok),
            ]
        )
        rows.append([f"  list_runs() in-process, warm ({size:,} runs)", c.seconds(query), "", ""])
        c.say(
            f"\nbuilt {size:,} runs in {built:.1f} s ({db.stat().st_size / 1e6:.1f} MB); "
            f"`ledger list` printed {len(shown)} lines, first 3:"
        )
        for line in shown[:3]:
            c.say(f"    {line[:110]}")
    c.table("Wall time", ["what", "median", "goal", ""], rows)
    for size, db in missed or ([] if opts.quick else [(sizes[-1], work / f"ledger-{sizes[-1]}.db")]):
        list_env = {**env, "LEDGER_URL": f"sqlite:///{db}"}
        top = c.importtime_top(["-m", "ledger", *command[1:]], cwd=cwd, env=list_env, packages=True)
        c.table(
            f"python -X importtime -m ledger list ... ({size:,} runs): heaviest packages (overlapping)",
            ["package", "cumulative"],
            [[name, c.seconds(t)] for name, t in top],
        )
        _profile(cwd, list_env, command, work / f"list-{size}.prof", size)
    c.say(f"\n{c.machine()}")
    return 0


def _build(path: Path, runs: int) -> float:
    """A ledger of `runs` finished runs, ~10 params, 5 final metrics and 0-3 tags each.

    The schema is the real one (created by `ledger.store.engine.connect`, i.e. Alembic);
    rows go in through SQLAlchemy Core executemany in one transaction.
    """
    from sqlalchemy import insert

    from ledger.core.param_values import to_row
    from ledger.store import tables
    from ledger.store.engine import connect

    start = time.perf_counter()
    path.unlink(missing_ok=True)
    rng = random.Random(runs)
    now = time.time()
    run_rows: list[dict[str, Any]] = []
    param_rows: list[dict[str, Any]] = []
    metric_rows: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    for i in range(runs):
        started = now - 365 * 86400 + i * (365 * 86400 / runs)
        run_id = _uuid7(int(started * 1000), rng)
        status = "failed" if rng.random() < 0.05 else "finished"
        run_rows.append(
            {
                "id": run_id,
                "name": f"run-{i}",
                "status": status,
                "source": "run",
                "started_at": started,
                "ended_at": started + rng.uniform(10, 3600),
                "heartbeat_at": started,
                "exit_code": 1 if status == "failed" else 0,
                "argv": '["python", "train.py"]',
                "cwd": "/home/user/project",
                "repo": "/home/user/project",
                "host": "bench-host",
                "user": "bench",
                "pid": 1000 + i % 30000,
                "commit": f"{rng.getrandbits(160):040x}",
                "branch": rng.choice(("main", "main", "exp/lr", "exp/arch")),
                "dirty": rng.random() < 0.3,
            }
        )
        params: dict[str, object] = {
            "lr": 10 ** rng.uniform(-5, -1),
            "batch_size": rng.choice((16, 32, 64, 128, 256)),
            "epochs": rng.randint(1, 100),
            "optimizer": rng.choice(("adam", "sgd", "adamw")),
            "model.name": rng.choice(("resnet18", "resnet50", "vit-b16")),
            "model.dropout": round(rng.uniform(0, 0.5), 2),
            "weight_decay": rng.choice((0.0, 1e-5, 1e-4, 1e-3)),
            "seed": rng.randint(0, 2**31),
            "model.layers": rng.randint(2, 48),
            "augment": rng.random() < 0.5,
        }
        for key, value in params.items():
            row = to_row(value)  # type: ignore[arg-type]
            param_rows.append(
                {
                    "run_id": run_id,
                    "key": key,
                    "kind": row.kind,
                    "num": row.num,
                    "text": row.text,
                    "source": "params.yaml",
                }
            )
        acc = rng.random()
        finals = {
            "acc": acc,
            "loss": -0.9 * acc + 1 + rng.random() * 0.1,
            "val_acc": acc * rng.uniform(0.9, 1.0),
            "val_loss": rng.uniform(0.1, 2.0),
            "f1": acc * rng.uniform(0.8, 1.0),
        }
        for key in METRICS:
            metric_rows.append(
                {"run_id": run_id, "key": key, "value": finals[key], "step": 100, "source": "metrics.json"}
            )
        for tag in rng.sample(TAG_POOL, rng.randint(0, 3)):
            tag_rows.append({"run_id": run_id, "tag": tag})
    store = connect(f"sqlite:///{path}")
    with store.engine.begin() as conn:
        conn.execute(insert(tables.RunRow), run_rows)
        conn.execute(insert(tables.ParamRow), param_rows)
        conn.execute(insert(tables.MetricRow), metric_rows)
        conn.execute(insert(tables.TagRow), tag_rows)
    with store.engine.connect() as conn:  # fold the WAL in: a ledger at rest
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return time.perf_counter() - start


def _uuid7(ms: int, rng: random.Random) -> str:
    """A UUIDv7 for a given time, as `ledger.core.ids` makes them (32 hex digits)."""
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    return f"{value:032x}"


def _in_process(db: Path, repeats: int) -> float:
    """The query alone: `queries.list_runs` on an open store, imports done, warm."""
    from ledger.core.filters import parse_filter, parse_sort
    from ledger.read import queries
    from ledger.store.engine import connect

    store = connect(f"sqlite:///{db}")
    where, sort = parse_filter(FILTER), [parse_sort(SORT)]

    def once() -> float:
        start = time.perf_counter()
        runs = queries.list_runs(store, where=where, sort=sort, limit=LIMIT, params=["*"], metrics=["*"])
        took = time.perf_counter() - start
        if len(runs) != LIMIT:
            raise RuntimeError(f"list_runs returned {len(runs)} runs, expected {LIMIT}")
        return took

    once()
    took = c.median(once() for _ in range(repeats))
    store.close()
    return took


def _profile(cwd: Path, env: dict[str, str], command: list[str], out: Path, size: int) -> None:
    wall, _ = c.run_timed(
        [c.PYTHON, "-m", "cProfile", "-o", str(out), "-m", "ledger", *command[1:]], cwd=cwd, env=env
    )
    c.table(
        f"cProfile of ledger list ({size:,} runs; wall {wall:.3f} s under the profiler): "
        "ledger functions by cumulative time",
        ["function", "calls", "own", "cumulative"],
        [
            [name, calls, c.seconds(own), c.seconds(cum)]
            for name, calls, own, cum in c.profile_top(out, under="/ledger/", top=10)
        ],
    )
    c.table(
        "... top functions by own time (whole process)",
        ["function", "calls", "own", "cumulative"],
        [
            [name, calls, c.seconds(own), c.seconds(cum)]
            for name, calls, own, cum in c.profile_top(out, key="tottime", top=10)
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
