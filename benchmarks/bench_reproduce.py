"""Overhead of `ledger reproduce ID` (env current) on the PyTorch example: its wall time
minus the training command's own time, the command being run bare in the same state.

Two runs of the example are reproduced: the whole pipeline (`dvc repro`: three stages,
torch imported twice, ~10 s) and its `prepare` stage alone (`python prepare.py`, well
under a second), whose small, steady time shows the fixed overhead without the noise of
a long command on a busy machine.
"""

from __future__ import annotations

import importlib.util
import json
import re
import resource
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import _common as c

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

GOAL_OVERHEAD = 2.0
"""Seconds `ledger reproduce` may add to the training command it re-runs."""

EXAMPLE = c.ROOT / "examples" / "torch_classifier"

_STEP = re.compile(r"\[(\d)/5\] (\w+): .* \((\d+\.\d+)s\)$")


@dataclass(frozen=True)
class Scenario:
    """A recorded run of the example, and the command its reproduction runs."""

    name: str
    recorded: list[str]
    rerun: list[str]
    """What `ledger reproduce` runs (and so what is timed bare)."""
    repeats: int


def main(argv: Sequence[str] | None = None) -> int:
    """Record the runs, then time reproductions and bare commands alternately."""
    opts = c.parse_args(__doc__ or "", argv)
    if importlib.util.find_spec("torch") is None:
        c.say("torch is not installed: pip install 'exp-ledger[torch]' (skipping)")
        return 0
    scenarios = [
        Scenario("pipeline", ["dvc", "repro"], ["dvc", "repro", "--no-run-cache"], 1 if opts.quick else 3),
        Scenario("prepare", ["python", "prepare.py"], ["python", "prepare.py"], 2 if opts.quick else 7),
    ]
    work = c.work_dir("reproduce")
    env = c.bench_env(work / "home")
    repo = _project(work, env)
    reproduce = _reproduce_command(repo, env)
    c.say(c.machine())
    rows = []
    for scenario in scenarios:
        c.run_timed(
            [*c.ledger_command(), "run", "--name", scenario.name, "--", *scenario.recorded], cwd=repo, env=env
        )
    for scenario in scenarios:
        c.say(f"{scenario.name}: `{' '.join(scenario.recorded)}`, {scenario.repeats} alternating runs ...")
        rows.append(_measure(scenario, repo=repo, work=work, env=env, reproduce=reproduce))
    c.table(
        "ledger reproduce of the torch_classifier example, env current (wall medians; CPU = user+sys)",
        [
            "run",
            "bare command",
            "ledger reproduce",
            "overhead",
            "min - min",
            "CPU overhead",
            "goal",
            "verdict",
        ],
        [row[0] for row in rows],
    )
    c.table(
        "Steps as `ledger reproduce` reports them (wall, median)",
        ["run", *(name for name, _ in rows[0][1])],
        [
            [scenario.name, *(c.seconds(t) for _, t in row[1])]
            for scenario, row in zip(scenarios, rows, strict=True)
        ],
    )
    c.say("(`run` holds the command and `ledger run` around it; `environment` overlaps `data`)")
    return 0


def _measure(
    scenario: Scenario, *, repo: Path, work: Path, env: Mapping[str, str], reproduce: list[str]
) -> tuple[list[str], list[tuple[str, float]]]:
    run_id = _run_id(repo, env, scenario.name)
    snapshot = c.git(repo, "rev-parse", f"refs/ledger/runs/{run_id}", env=env)
    # The bare command logs into a copy of the run through the API, as under `ledger run`:
    # without a run to join, train.py would start runs of its own and seem slower.
    bare_env = {**env, "LEDGER_URL": _copy_ledger(repo, work), "LEDGER_RUN_ID": run_id}
    steps: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {"bare": [], "reproduce": []}

    def reproduced() -> float:
        before = _children_cpu()
        elapsed, proc = c.run_timed([*reproduce, scenario.name], cwd=repo, env=env)
        cpu["reproduce"].append(_children_cpu() - before)
        for line in proc.stderr.splitlines():
            match = _STEP.search(line)
            if match:
                steps.setdefault(match.group(2), []).append(float(match.group(3)))
        return elapsed

    def bare() -> float:
        return _bare(repo, work, snapshot, scenario.rerun, bare_env, cpu["bare"])

    times = c.alternate({"bare": bare, "reproduce": reproduced}, scenario.repeats)
    wall = c.median(times["reproduce"]) - c.median(times["bare"])
    cpu_overhead = c.median(cpu["reproduce"]) - c.median(cpu["bare"])
    row = [
        scenario.name,
        c.seconds(c.median(times["bare"])),
        c.seconds(c.median(times["reproduce"])),
        c.seconds(wall),
        c.seconds(min(times["reproduce"]) - min(times["bare"])),
        c.seconds(cpu_overhead),
        c.seconds(GOAL_OVERHEAD),
        c.verdict(wall < GOAL_OVERHEAD),
    ]
    return row, [(name, c.median(values)) for name, values in steps.items()]


def _project(work: Path, env: Mapping[str, str]) -> Path:
    """The example in a fresh git + DVC repo, its data pushed to a local remote."""
    repo = work / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__", "data", "models", "dvc.lock"))
    c.git(repo, "init", "-q", "-b", "main", env=env)
    for argv in (
        ["dvc", "init", "-q"],
        [c.PYTHON, "make_data.py"],
        ["dvc", "add", "-q", "data/raw"],
        ["dvc", "remote", "add", "-q", "-d", "store", str(work / "remote")],
        ["dvc", "push", "-q"],
    ):
        c.run_timed(argv, cwd=repo, env=env)
    c.git(repo, "add", "-A", env=env)
    c.git(repo, "commit", "-q", "-m", "torch classifier", env=env)
    return repo


def _run_id(repo: Path, env: Mapping[str, str], name: str) -> str:
    _, proc = c.run_timed([*c.ledger_command(), "show", name, "--json"], cwd=repo, env=env)
    return str(json.loads(proc.stdout)["run"]["summary"]["id"])


def _reproduce_command(repo: Path, env: Mapping[str, str]) -> list[str]:
    """`ledger reproduce` once the CLI has it, else the module's own entry point."""
    _, proc = c.run_timed([*c.ledger_command(), "reproduce", "--help"], cwd=repo, env=env, check=False)
    return (
        [*c.ledger_command(), "reproduce"]
        if proc.returncode == 0
        else [c.PYTHON, "-m", "ledger.reproduce.command"]
    )


def _copy_ledger(repo: Path, work: Path) -> str:
    copy = work / "bare-ledger.db"
    copy.unlink(missing_ok=True)
    with sqlite3.connect(repo / ".git" / "ledger" / "ledger.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return f"sqlite:///{copy}"


def _bare(
    repo: Path, work: Path, snapshot: str, command: list[str], env: Mapping[str, str], cpu: list[float]
) -> float:
    """The command alone, in a worktree of the snapshot with its data checked out (untimed)."""
    tree = work / "bare"
    shutil.rmtree(tree, ignore_errors=True)
    c.git(repo, "worktree", "add", "-q", "--detach", str(tree), snapshot, env=env)
    (tree / ".dvc" / "config.local").write_text(f"[cache]\n    dir = {repo / '.dvc' / 'cache'}\n")
    c.run_timed(["dvc", "checkout", "-q"], cwd=tree, env=env, check=False)  # what the snapshot declares
    before = _children_cpu()
    elapsed, _ = c.run_timed(command, cwd=tree, env=env)
    cpu.append(_children_cpu() - before)
    c.git(repo, "worktree", "remove", "--force", "--force", str(tree), env=env)
    return elapsed


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
