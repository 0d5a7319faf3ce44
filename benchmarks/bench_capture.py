"""Fixed overhead of `ledger run -- python -c pass` over bare `python -c pass`."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING

import _common as c

from ledger.delivery import handover as run_records

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

GOAL_OVERHEAD = 0.5
"""Seconds `ledger run` may add to a command."""

PHASES = (
    ("ledger/cli/main.py", "main"),
    ("ledger/cli/main.py", "cmd_run"),
    ("ledger/capture/runner.py", "run_command"),
    ("ledger/capture/collect.py", "start_recorded_run"),
    ("ledger/store/workspace.py", "locate"),
    ("ledger/capture/before.py", "capture_before"),
    ("ledger/git/snapshot.py", "open_repo"),
    ("ledger/git/snapshot.py", "read_worktree"),
    ("ledger/git/snapshot.py", "make_snapshot"),
    ("ledger/git/snapshot.py", "list_files"),
    ("ledger/capture/data.py", "read_data"),
    ("ledger/capture/environment.py", "capture_environment"),
    ("ledger/delivery/handover.py", "write_start"),
    ("ledger/delivery/handover.py", "spawn_recorder"),
    ("ledger/store/workspace.py", "open_store"),
    ("ledger/store/engine.py", "upgrade_schema"),
    ("ledger/store/writes.py", "create_run"),
    ("ledger/read/queries.py", "short_id"),
    ("ledger/capture/runner.py", "_supervise"),
    ("ledger/capture/runner.py", "_finish"),
    ("ledger/capture/after.py", "capture_after"),
    ("ledger/delivery/handover.py", "write_end"),
    ("ledger/delivery/save.py", "ingest_spool"),
    ("ledger/store/writes.py", "finish_run"),
    ("<frozen importlib._bootstrap>", "_find_and_load"),
)
"""Functions whose cumulative time splits one `ledger run` into phases (nested)."""

IMPORTS = (
    "ledger.cli.main",
    "ledger.capture.runner",
    "ledger.capture.collect",
    "sqlalchemy.orm",
    "git",
    "alembic.command",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Time both commands alternately in one repo, then break the overhead down."""
    opts = c.parse_args(__doc__ or "", argv)
    files, repeats = (200, 3) if opts.quick else (1000, 7)
    work = c.work_dir("capture")
    env = c.bench_env(work / "home")
    repo = c.make_repo(work / "repo", env=env, files=files, dirty=3, untracked=2)
    c.say(c.machine())
    c.say(
        f"ledger run overhead: repo of {files:,} committed files, 3 modified, 2 untracked; "
        f"median of {repeats} alternating runs each"
    )

    bare = [c.PYTHON, "-c", "pass"]
    wrapped = [*c.ledger_command(), "run", "--", *bare]
    spool = repo / ".git" / "ledger" / "spool"
    recorded: list[float] = []

    def ledger_run() -> float:
        """One timed `ledger run`; then, untimed, wait until its detached recorder has
        put it in the ledger, so it does not slow the next command down."""
        wall, _ = c.run_timed(wrapped, cwd=repo, env=env)
        recorded.append(wall + _wait_recorded(spool))
        return wall

    first = ledger_run()  # creates and migrates the ledger
    c.run_timed(bare, cwd=repo, env=env)
    times = c.alternate(
        {"bare": lambda: c.run_timed(bare, cwd=repo, env=env)[0], "ledger": ledger_run}, repeats
    )
    base, wrap = c.median(times["bare"]), c.median(times["ledger"])
    overhead = wrap - base
    c.table(
        "Wall time per command",
        ["command", "median", "min", "max", "vs bare"],
        [
            [
                "python -c pass",
                c.seconds(base),
                c.seconds(min(times["bare"])),
                c.seconds(max(times["bare"])),
                "1.00x",
            ],
            [
                "ledger run -- python -c pass",
                c.seconds(wrap),
                c.seconds(min(times["ledger"])),
                c.seconds(max(times["ledger"])),
                c.ratio(wrap / base),
            ],
            ["  (first ledger run: creates the ledger)", c.seconds(first), "-", "-", c.ratio(first / base)],
            [
                "  (start to the run being in the ledger)",
                c.seconds(c.median(recorded[1:])),
                c.seconds(min(recorded[1:])),
                c.seconds(max(recorded[1:])),
                "-",
            ],
        ],
    )
    c.table(
        "Fixed overhead of ledger run",
        ["measure", "value", "goal < 0.5 s"],
        [["median(ledger run) - median(bare)", c.seconds(overhead), c.verdict(overhead < GOAL_OVERHEAD)]],
    )
    _imports(repo, env, repeats=3 if opts.quick else 5, base=base)
    _importtime(repo, env, wrapped)
    _git_trace(repo, env, wrapped, work / "git-trace2.json")
    _profile(repo, env, work / "ledger-run.prof", bare)
    c.say(f"\n{c.machine()}")
    return 0


def _wait_recorded(spool: Path) -> float:
    """Seconds until no run waits in the spool for its recorder (`ledger.delivery.handover`)."""
    start = time.perf_counter()
    while run_records.handed_over(spool):
        time.sleep(0.005)
    return time.perf_counter() - start


def _imports(repo: Path, env: dict[str, str], *, repeats: int, base: float) -> None:
    rows = []
    for module in IMPORTS:
        took = c.median_time([c.PYTHON, "-c", f"import {module}"], cwd=repo, env=env, repeats=repeats)
        rows.append([f'python -c "import {module}"', c.seconds(took), c.seconds(took - base)])
    c.table(
        "Import cost (each in a fresh interpreter; nested, so they overlap)",
        ["command", "median", "minus python -c pass"],
        rows,
    )


def _importtime(repo: Path, env: dict[str, str], wrapped: list[str]) -> None:
    argv = ["-m", "ledger", *wrapped[wrapped.index("run") :]]
    top = c.importtime_top(argv, cwd=repo, env=env)
    c.table(
        "python -X importtime -m ledger run -- python -c pass: imports made by ledger itself",
        ["module", "cumulative"],
        [[name, c.seconds(took)] for name, took in top],
    )
    top = c.importtime_top(argv, cwd=repo, env=env, packages=True)
    c.table(
        "... the same run: heaviest root packages (overlapping: a package's time "
        "includes what it imports first)",
        ["package", "cumulative"],
        [[name, c.seconds(took)] for name, took in top],
    )


def _git_trace(repo: Path, env: dict[str, str], wrapped: list[str], trace: Path) -> None:
    """Every git process one `ledger run` starts, with its own wall time (trace2)."""
    trace.unlink(missing_ok=True)
    c.run_timed(wrapped, cwd=repo, env={**env, "GIT_TRACE2_EVENT": str(trace)})
    started: dict[str, list[str]] = {}
    rows = []
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        sid = event.get("sid", "")
        if "/" in sid:  # a git started by git: counted in its parent
            continue
        if event.get("event") == "start":
            started[sid] = event.get("argv", [])
        elif event.get("event") == "exit" and sid in started:
            rows.append((" ".join(started[sid])[:70], float(event.get("t_abs", 0.0))))
    c.table(
        f"git processes of one ledger run (GIT_TRACE2_EVENT): {len(rows)}, "
        f"{sum(t for _, t in rows):.3f} s in total",
        ["git command", "wall"],
        [[cmd, c.seconds(took)] for cmd, took in rows],
    )


def _profile(repo: Path, env: dict[str, str], out: Path, bare: list[str]) -> None:
    """cProfile one whole `ledger run`; its clock inflates Python-heavy phases."""
    wall, _ = c.run_timed(
        [c.PYTHON, "-m", "cProfile", "-o", str(out), "-m", "ledger", "run", "--", *bare],
        cwd=repo,
        env=env,
    )
    c.table(
        f"cProfile of one ledger run (wall {wall:.3f} s under the profiler; "
        "phases nest, cumulative incl. imports they trigger)",
        ["phase (function)", "cumulative"],
        [[name, c.seconds(took)] for name, took in c.profile_functions(out, PHASES)],
    )
    c.table(
        "Top functions by own time (whole process)",
        ["function", "calls", "own", "cumulative"],
        [
            [name, calls, c.seconds(own), c.seconds(cum)]
            for name, calls, own, cum in c.profile_top(out, key="tottime", top=12)
        ],
    )
    spawned = sum(
        calls
        for name, calls, _, _ in c.profile_top(out, top=100_000)
        if name.endswith("(fork_exec)") or "fork_exec" in name
    )
    c.say(f"\nsubprocesses started by one ledger run (git, child): {spawned}")


if __name__ == "__main__":
    sys.exit(main())
