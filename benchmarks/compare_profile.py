"""Profile our side of the comparison's workloads with pyinstrument (`pip install pyinstrument`).

Runs on what the last `compare.py` left in its work folder (run that first):

    python benchmarks/compare_profile.py logging   # the logging window of one run
    python benchmarks/compare_profile.py runs      # writes.create_run + finish_run
    python benchmarks/compare_profile.py query     # queries.list_runs, the top-10 query
    python benchmarks/compare_profile.py list      # a whole `ledger list --all` process

Each prints pyinstrument's call tree and keeps it as `profile-<what>.txt` in the work folder;
with SHOW_ALL=1 in the environment, the library frames it hides are printed too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import _common as c
import compare_data as d

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pyinstrument import Profiler

WHAT = ("logging", "runs", "query", "list")


def main(argv: Sequence[str] | None = None) -> int:
    """Profile one workload (or, with `--in-repo`, the logging window inside the API repo)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=WHAT)
    parser.add_argument("--work", default=str(c.WORK / "compare"), help="the work folder compare.py used")
    parser.add_argument("--in-repo", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    work = Path(opts.work).resolve()
    out = work / f"profile-{opts.what}.txt"
    if opts.in_repo:
        return _logging_window(out)
    env = c.bench_env(work / "home")
    if opts.what == "logging":
        db = shutil.copyfile(work / "template-ledger.db", work / "profile-logging.db")
        argv_ = [c.PYTHON, str(Path(__file__).resolve()), "logging", "--in-repo", "--work", str(work)]
        c.run_timed(argv_, cwd=work / "api-repo", env={**env, "LEDGER_URL": f"sqlite:///{db}"})
    elif opts.what == "list":
        argv_ = [
            c.PYTHON,
            "-m",
            "pyinstrument",
            "-r",
            "text",
            "-o",
            str(out),
            "-m",
            "ledger",
            "list",
            "--all",
        ]
        c.run_timed(argv_, cwd=work / "list-ledger", env=env)
    elif opts.what == "runs":
        _runs(shutil.copyfile(work / "template-ledger.db", work / "profile-runs.db"), out)
    else:
        _query(sorted(work.glob("runs-runs-ours-*.db"))[-1], out)
    c.say(out.read_text())
    return 0


def _logging_window(out: Path) -> int:
    """The window compare.py times, in a fresh process as there: log_params, 1,000 log_metrics, the close."""
    import ledger

    s, params = d.series(1_000), d.logging_params()
    window = _profiled(out, "logging window: log_params + 1,000 x log_metrics + end of start_run()")
    with ledger.start_run(name="logging"):
        window.__enter__()  # after start_run's capture: the window compare.py times
        ledger.log_params(params)
        for i in range(1_000):
            ledger.log_metrics({k: s[k][i] for k in d.SERIES_KEYS}, step=i)
    window.__exit__()
    return 0


def _runs(db: Path, out: Path) -> None:
    from ledger.core import records
    from ledger.core.ids import new_run_id
    from ledger.core.records import Metric, Param
    from ledger.store import writes
    from ledger.store.engine import connect

    store = connect(f"sqlite:///{db}")

    def once(run: d.RunSpec) -> None:
        run_id = new_run_id()
        params = [Param(key=k, value=v, source="api") for k, v in run.params.items()]
        new = records.NewRun(id=run_id, source="api", started_at=time.time(), name=run.name, params=params)
        writes.create_run(store, new)
        metrics = [Metric(key=k, value=v, step=None, source="api") for k, v in run.finals.items()]
        end = records.RunEnd(status="finished", ended_at=time.time(), exit_code=0, metrics=metrics)
        writes.finish_run(store, run_id, end)

    specs = d.run_specs(300)
    for run in specs[:50]:  # warm-up: statement compilation, page cache
        once(run)
    with _profiled(out, "250 x (writes.create_run + writes.finish_run)"):
        for run in specs[50:]:
            once(run)
    store.close()


def _query(db: Path, out: Path) -> None:
    from ledger.core.filters import parse_filter, parse_sort
    from ledger.read import queries
    from ledger.store.engine import connect

    store = connect(f"sqlite:///{db}")
    where, sort = parse_filter(d.QUERY_FILTER), [parse_sort(d.QUERY_SORT)]

    def once() -> None:
        queries.list_runs(store, where=where, sort=sort, limit=d.QUERY_LIMIT, params=["*"], metrics=["*"])

    for _ in range(10):
        once()
    with _profiled(out, f"200 x queries.list_runs({d.QUERY_FILTER!r}, sort={d.QUERY_SORT})"):
        for _ in range(200):
            once()
    store.close()


class _profiled:  # noqa: N801 - used like a function
    """Profile a block with pyinstrument; write its text report to `out`."""

    def __init__(self, out: Path, title: str) -> None:
        from pyinstrument import Profiler

        self.out, self.title = out, title
        self.profiler: Profiler = Profiler(interval=0.0002)
        self.start = 0.0

    def __enter__(self) -> None:
        self.start = time.perf_counter()
        self.profiler.start()

    def __exit__(self, *exc: object) -> None:
        self.profiler.stop()
        wall = time.perf_counter() - self.start
        text = self.profiler.output_text(unicode=True, color=False, show_all=bool(os.environ.get("SHOW_ALL")))
        self.out.write_text(f"{self.title}: {wall * 1000:.1f} ms wall (profiled)\n{text}")


if __name__ == "__main__":
    sys.exit(main())
