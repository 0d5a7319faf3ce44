"""The seven workloads against MLflow and DVC: run each case, alternating systems, and report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import _common as c
import compare_cli as cli
import compare_data as d
from compare_report import Goal, Section, fmt_ratio, fmt_s
from compare_storage import bytes_per_point

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from compare import Bench
    from compare_report import Report

OURS, MLFLOW, SQLITE = "exp-ledger", "MLflow", "sqlite3"
GOAL_RATIO = 10.0
"""How many times faster than the peer we must be."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big, and how many repetitions."""

    steps: int
    runs: int
    api_runs: int
    repeats: int
    """Repetitions of each write case (each in a fresh process)."""
    read_iters: int
    cli_repeats: int
    experiments: tuple[int, ...]
    warm_up: bool
    """One untimed run of each whole command before the timed ones (the smoke size skips it)."""


@dataclass(frozen=True, slots=True)
class Case:
    """One way of doing a workload on one system."""

    label: str
    system: str
    child: str
    extra: dict[str, Any] = field(default_factory=dict)
    feeds: bool = False
    """Its database (last repetition) is the one later workloads read and grow."""


LOG_CASES = (
    Case("exp-ledger: log_params + log_metrics({3 keys}, step) per step", OURS, "log-ours", feeds=True),
    Case(
        "MLflow: log_params + log_metric per value (per call)",
        MLFLOW,
        "log-mlflow",
        {"mode": "log_metric"},
        True,
    ),
    Case(
        "MLflow: log_params + log_metrics({3 keys}, step) per step",
        MLFLOW,
        "log-mlflow",
        {"mode": "log_metrics"},
    ),
    Case("MLflow: one log_batch (batched)", MLFLOW, "log-mlflow", {"mode": "log_batch"}),
    Case(
        "sqlite3 ceiling: one INSERT per point, one transaction",
        SQLITE,
        "log-sqlite",
        {"mode": "per_call"},
        True,
    ),
    Case("sqlite3 ceiling: one executemany", SQLITE, "log-sqlite", {"mode": "batch"}),
)
RUN_CASES = (
    Case("exp-ledger: recorder create_run + finish_run", OURS, "runs-ours", feeds=True),
    Case("MLflow: create_run + log_batch + set_terminated", MLFLOW, "runs-mlflow", feeds=True),
    Case("sqlite3 ceiling: one transaction per run", SQLITE, "runs-sqlite", feeds=True),
)
API_RUN_CASES = (
    Case("exp-ledger: with start_run(params=...): log_metrics(finals)", OURS, "runs-ours-api"),
    Case("MLflow: with start_run(): log_params(...); log_metrics(finals)", MLFLOW, "runs-mlflow-api"),
)


@dataclass(slots=True)
class _State:
    log_dbs: dict[str, Path] = field(default_factory=dict)
    log_runs: dict[str, str] = field(default_factory=dict)
    run_dbs: dict[str, Path] = field(default_factory=dict)


def run_all(bench: Bench, report: Report, sizes: Sizes) -> None:
    """Every workload in order; later ones read the databases earlier ones wrote."""
    state = _State()
    for step in (logging, run_creation, reads, capture, listing, storage):
        c.say(f"\n... {step.__name__}")
        step(bench, report, sizes, state)


def logging(bench: Bench, report: Report, sizes: Sizes, state: _State) -> None:
    """1. One run: 20 params, 3 metrics x `steps` steps."""
    cases = _available(bench, LOG_CASES)
    results = _repeat(bench, cases, sizes.repeats, "log", {"steps": sizes.steps}, state.log_dbs)
    for case in cases:
        if case.feeds:
            state.log_runs[case.system] = results[case.label][-1]["run_id"]
    med = {
        label: {k: c.median(r[k] for r in runs) for k in ("start", "log", "end", "logging")}
        for label, runs in results.items()
    }
    ours = med[LOG_CASES[0].label]["logging"]
    points = sizes.steps * len(d.SERIES_KEYS)
    report.add(
        Section(
            f"1. Logging: one run, 20 params + {len(d.SERIES_KEYS)} metrics x {sizes.steps:,} steps "
            f"({points:,} points); median of {sizes.repeats}",
            ["case", "logging", "per point", "= calls", "+ close run", "start run", "time vs exp-ledger"],
            [
                [
                    label,
                    fmt_s(m["logging"]),
                    fmt_s(m["logging"] / points),
                    fmt_s(m["log"]),
                    fmt_s(m["end"]),
                    fmt_s(m["start"]),
                    fmt_ratio(m["logging"] / ours),
                ]
                for label, m in med.items()
            ],
            note=(
                "`logging`: from the first logging call to the end of the `with` block (points in the "
                "database, run closed), split into the logging calls and the close (ours flushes the "
                "buffered points there, then captures the run's outputs: git status, DVC hashes, metrics "
                "files). `start run` is apart: ours captures code, data and environment there, MLflow its "
                "git context. Each case runs in a fresh process on a fresh copy of an empty database."
            ),
        )
    )
    for case, name in (
        (LOG_CASES[1], "per call (MLflow log_metric)"),
        (LOG_CASES[3], "batched (MLflow log_batch)"),
    ):
        theirs = med[case.label]["logging"] if case.label in med else None
        report.goals.append(_speed_goal(f"logging {points:,} points, {name}", ours, theirs))


def run_creation(bench: Bench, report: Report, sizes: Sizes, state: _State) -> None:
    """2. `runs` runs with 20 params and 5 final metrics, into the logging databases."""
    cases = _available(bench, RUN_CASES)
    results = _repeat(
        bench, cases, sizes.repeats, "runs", {"count": sizes.runs}, state.run_dbs, base=state.log_dbs
    )
    api_cases = _available(bench, API_RUN_CASES)
    api = _repeat(bench, api_cases, sizes.repeats, "api-runs", {"count": sizes.api_runs}, {})
    rows = []
    ours = c.median(r["total"] for r in results[RUN_CASES[0].label])
    ours_api = c.median(r["total"] for r in api[API_RUN_CASES[0].label])
    for group, base in ((results, ours), (api, ours_api)):
        for label, runs in group.items():
            total, count = c.median(r["total"] for r in runs), runs[0]["count"]
            rows.append(
                [
                    label,
                    f"{count:,}",
                    fmt_s(total),
                    fmt_s(total / count),
                    f"{count / total:,.0f}",
                    fmt_ratio(total / base),
                ]
            )
    report.add(
        Section(
            f"2. Run creation: {sizes.runs:,} runs with 20 params + 5 final metrics; median of {sizes.repeats}",
            ["case", "runs", "total", "per run", "runs/s", "time vs exp-ledger"],
            rows,
            note=(
                f"The first three rows are the store layer of each system (no capture), timed on {sizes.runs:,} "
                f"runs; the last two are each user API, capture included, on {sizes.api_runs} runs. "
                "Our capture (a git snapshot commit of the work tree, the environment lockfile, DVC hashes) is "
                "what MLflow does not do; workload 5 measures it as a whole command."
            ),
        )
    )
    theirs = results.get(RUN_CASES[1].label)
    report.goals.append(
        _speed_goal(
            f"create {sizes.runs:,} runs",
            ours,
            None if theirs is None else c.median(r["total"] for r in theirs),
        )
    )


def reads(bench: Bench, report: Report, sizes: Sizes, state: _State) -> None:
    """3. The top-10 query and 4. one run with its series, over the run-creation databases."""
    spec: dict[str, Any] = {"iters": sizes.read_iters}
    for system, key in ((OURS, "ours"), (MLFLOW, "mlflow"), (SQLITE, "sqlite")):
        if system in state.run_dbs:
            spec[key] = {"db": str(state.run_dbs[system]), "run_id": state.log_runs[system]}
    result = bench.child("reads", spec)
    ours = result[OURS]
    tops = {name: [round(v, 9) for v in r["top"]] for name, r in result.items()}
    agree = bool(tops[OURS]) and all(t == tops[OURS] for t in tops.values())
    report.add(
        Section(
            f"3. Query: top {d.QUERY_LIMIT} by metrics.acc where `{d.QUERY_FILTER}`, over "
            f"{sizes.runs + 1:,} runs; median of {sizes.read_iters}, warm, alternated in one process",
            ["system", "call", "median", "time vs exp-ledger"],
            [
                [name, _QUERY_CALLS[name], fmt_s(r["query"]), fmt_ratio(r["query"] / ours["query"])]
                for name, r in result.items()
            ],
            note=f"All systems return the same {len(tops[OURS])} runs in the same order: {'yes' if agree else 'NO'}.",
        )
    )
    points = {name: r["points"] for name, r in result.items()}
    report.add(
        Section(
            "4. Read one run with all its series (the logging workload's run); median of "
            f"{sizes.read_iters}, warm, alternated",
            ["system", "calls", "points read", "median", "time vs exp-ledger"],
            [
                [
                    name,
                    _READ_CALLS[name],
                    f"{points[name]:,}",
                    fmt_s(r["read"]),
                    fmt_ratio(r["read"] / ours["read"]),
                ]
                for name, r in result.items()
            ],
        )
    )
    mlflow = result.get(MLFLOW)
    report.goals.append(
        _speed_goal("top-10 query (search_runs)", ours["query"], None if mlflow is None else mlflow["query"])
    )
    report.goals.append(
        Goal(
            "read one run + series",
            fmt_s(ours["read"]),
            "-" if mlflow is None else fmt_s(mlflow["read"]),
            None if mlflow is None else mlflow["read"] / ours["read"],
            "(none)",
            "" if mlflow else "not measured",
        )
    )
    if not agree:
        raise RuntimeError(f"the systems disagree on the query's answer: {tops}")


def storage(bench: Bench, report: Report, sizes: Sizes, state: _State) -> None:
    """7. Database bytes per metric point, from the logging workload's databases."""
    points = sizes.steps * len(d.SERIES_KEYS)
    sizes_of = {s: bytes_per_point(s, db, points, bench.work) for s, db in state.log_dbs.items()}
    ours = sizes_of[OURS][2]
    report.add(
        Section(
            f"7. Storage: database bytes per metric point ({points:,} points, after VACUUM)",
            ["system", "database", "same without the points", "bytes per point", "size vs exp-ledger"],
            [
                [s, f"{a:,}", f"{b:,}", f"{per:.1f}", fmt_ratio(per / ours if ours else None)]
                for s, (a, b, per) in sizes_of.items()
            ],
            note=(
                "A point is (step, timestamp, value) everywhere; ours are zlib-compressed chunks, MLflow's and "
                f"the ceiling's are rows. Resolution: one 4 KiB page, {4096 / points:.1f} bytes per point."
            ),
        )
    )
    theirs = sizes_of.get(MLFLOW)
    report.goals.append(
        Goal(
            "bytes per metric point",
            f"{ours:.1f} B",
            "-" if theirs is None else f"{theirs[2]:.1f} B",
            None if theirs is None or not ours else theirs[2] / ours,
            "(none)",
            "" if theirs else "not measured",
        )
    )


def capture(bench: Bench, report: Report, sizes: Sizes, state: _State) -> None:
    """5. Fixed cost of recording one trivial run, as whole commands."""
    t = cli.capture_overhead(
        bench.work, bench.env, repeats=sizes.cli_repeats, warm_up=sizes.warm_up, dvc=bench.dvc
    )
    bare = t.median("python -c pass")
    report.add(
        Section(
            f"5. Capture overhead of one trivial run ({cli.PROJECT_FILES} committed files, one-stage dvc.yaml); "
            f"median of {sizes.cli_repeats}, alternated",
            ["command", "median", "min", "max", "overhead over bare"],
            [
                [label, fmt_s(t.median(label)), fmt_s(min(v)), fmt_s(max(v)), fmt_s(t.median(label) - bare)]
                for label, v in t.runs.items()
            ],
        )
    )
    ours = t.median("ledger run -- python -c pass") - bare
    theirs = t.median("dvc exp run") - bare if "dvc exp run" in t.runs else None
    report.goals.append(
        Goal(
            "capture overhead (dvc exp run)",
            fmt_s(ours),
            fmt_s(theirs),
            None if theirs is None else theirs / ours,
            "< dvc exp run's",
            "not measured" if theirs is None else c.verdict(ours < theirs),
        )
    )


def listing(bench: Bench, report: Report, sizes: Sizes, state: _State) -> None:
    """6. `ledger list` and `dvc exp show` with 20 and 100 experiments."""
    by_size = cli.listing(
        bench.work,
        bench.env,
        sizes=sizes.experiments,
        repeats=sizes.cli_repeats,
        warm_up=sizes.warm_up,
        dvc=bench.dvc,
    )
    labels = list(next(iter(by_size.values())).runs)
    rows = []
    for label in labels:
        row: list[object] = [label]
        for t in by_size.values():
            ratio = t.median("dvc exp show") / t.median(label) if "dvc exp show" in t.runs else None
            row += [fmt_s(t.median(label)), fmt_ratio(ratio)]
        rows.append(row)
    headers = ["command"]
    for size in by_size:
        headers += [f"{size} experiments", "dvc exp show / this"]
    report.add(
        Section(
            f"6. Listing experiments (each with 20 params, 5 metrics); median of {sizes.cli_repeats}, alternated",
            headers,
            rows,
            note=(
                "`ledger list` prints 20 runs by default; `ledger list --all` prints every run, as `dvc exp show` "
                "does, so the goal compares that one. The floor is a Python process reading the same rows from "
                "the ledger file with the stdlib sqlite3 module and printing them. Ledger runs were recorded with `ledger.start_run()` around "
                "train.py, DVC experiments with `dvc exp run -S lr=...` (through DVC's API, to save start-up time)."
            ),
        )
    )
    last = by_size[sizes.experiments[-1]]
    ours = last.median("ledger list --all")
    theirs = last.median("dvc exp show") if "dvc exp show" in last.runs else None
    report.goals.append(_speed_goal(f"list {sizes.experiments[-1]} experiments (dvc exp show)", ours, theirs))


_QUERY_CALLS = {
    OURS: "queries.list_runs (the `ledger list` query)",
    MLFLOW: "MlflowClient.search_runs",
    SQLITE: "one SELECT + params + metrics",
}
_READ_CALLS = {
    OURS: "get_run + get_series per key",
    MLFLOW: "get_run + get_metric_history per key",
    SQLITE: "4 SELECTs",
}


def _available(bench: Bench, cases: Sequence[Case]) -> list[Case]:
    return [case for case in cases if bench.mlflow or case.system != MLFLOW]


def _repeat(
    bench: Bench,
    cases: Sequence[Case],
    repeats: int,
    prefix: str,
    spec: dict[str, Any],
    keep: dict[str, Path],
    *,
    base: dict[str, Path] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Each case `repeats` times, in a fresh process on a fresh database; the order
    of the cases rotates from one repetition to the next."""
    results: dict[str, list[dict[str, Any]]] = {case.label: [] for case in cases}
    for r in range(repeats):
        order = list(cases)
        for case in order[r % len(order) :] + order[: r % len(order)]:
            name = f"{prefix}-{case.child}-{case.extra.get('mode', 'x')}-{r}"
            db = bench.fresh_db(case.system, name, None if base is None else base.get(case.system))
            result = bench.child(
                case.child,
                {**spec, **case.extra, "db": str(db)},
                ledger_db=db if case.system == OURS else None,
            )
            results[case.label].append(result)
            if case.feeds:
                keep[case.system] = db
    return results


def _speed_goal(workload: str, ours: float, theirs: float | None) -> Goal:
    if theirs is None:
        return Goal(workload, fmt_s(ours), "-", None, f">= {GOAL_RATIO:.0f}x", "not measured")
    ratio = theirs / ours
    return Goal(
        workload, fmt_s(ours), fmt_s(theirs), ratio, f">= {GOAL_RATIO:.0f}x", c.verdict(ratio >= GOAL_RATIO)
    )
