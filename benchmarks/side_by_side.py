"""This checkout against an earlier revision, side by side in one run: `ledger list` at
10,000 runs, the cost of a commit with the hooks, and the API's logging rate.

A change that only moves code must not cost speed; measured in separate runs, the machine's
noise would hide it. Each revision runs from its own source tree under the installed shape
(`ledger.hooks` and `ledger.tui` mapped in, as `./dev` builds `.layout/`), with this venv's
interpreter and dependencies, the cases interleaved so drift in load hits both alike.

    python benchmarks/side_by_side.py --base REV [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import _common as c
import bench_list

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

LOGGING_SCRIPT = """
import sys, time
import ledger
steps = int(sys.argv[1])
start = time.perf_counter()
with ledger.start_run(name="bench"):
    for i in range(steps):
        ledger.log_metrics({"loss": 1.0 / (i + 1), "acc": i / steps, "lr": 0.001}, step=i)
print(3 * steps / (time.perf_counter() - start))
"""
"""Points per second through `ledger.log_metrics`, from the first call to the run's close."""


def main(argv: Sequence[str] | None = None) -> int:
    """Lay out both revisions, then alternate each case between them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True, help="the revision to compare against (e.g. a tag or SHA)")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke test)")
    opts = parser.parse_args(argv)
    repeats = 3 if opts.quick else 9
    runs = 1_000 if opts.quick else 10_000
    steps = 2_000 if opts.quick else 100_000
    work = c.work_dir("against-base")
    base_sha = c.git(c.ROOT, "rev-parse", "--short", opts.base, env=os.environ)
    head_sha = c.git(c.ROOT, "rev-parse", "--short", "HEAD", env=os.environ)
    trees = {
        f"base {base_sha}": _export(opts.base, work / "base"),
        f"this checkout ({head_sha})": c.ROOT,
    }
    layouts = {name: _layout(tree, work / f"layout-{i}") for i, (name, tree) in enumerate(trees.items())}
    c.say(c.machine())
    c.say(f"{', '.join(trees)}; median of {repeats}, the revisions interleaved\n")

    cases = {}
    for i, (name, layout) in enumerate(layouts.items()):
        env = c.bench_env(work / f"home-{i}", {"PYTHONPATH": str(layout)})
        repo = c.make_repo(work / f"repo-{i}", env=env)
        db = _ledger_of(trees[name], work / f"ledger-{i}.db", runs, env)
        c.run_timed([c.PYTHON, "-m", "ledger", "init"], cwd=repo, env=env)
        list_env = {**env, "LEDGER_URL": f"sqlite:///{db}"}
        listing = [
            c.PYTHON,
            "-m",
            "ledger",
            "list",
            bench_list.FILTER,
            f"--sort={bench_list.SORT}",
            "-n",
            "20",
        ]
        _, proc = c.run_timed(listing, cwd=repo, env=list_env)
        if len(proc.stdout.splitlines()) < 20:
            raise RuntimeError(f"{name}: `ledger list` printed too little:\n{proc.stdout}\n{proc.stderr}")
        cases[f"ledger list, {runs:,} runs|{name}"] = _timer(listing, repo, list_env)
        cases[f"git commit with the hooks|{name}"] = _committer(repo, env)
        cases[f"log_metrics, {3 * steps:,} points (points/s)|{name}"] = _logger(repo, env, steps)
    times = c.alternate(cases, repeats)

    rows = []
    for what in dict.fromkeys(key.split("|")[0] for key in cases):
        base, head = (c.median(times[f"{what}|{name}"]) for name in trees)
        rate = "points/s" in what
        rows.append([what, _figure(base, rate=rate), _figure(head, rate=rate), c.ratio(head / base)])
    c.table("This checkout against the base", ["case", *trees, "this / base"], rows)
    c.say("\n(a ratio near 1.00 is noise; for list and commit lower is faster, for points/s higher is)")
    c.say(f"\n{c.machine()}")
    return 0


def _ledger_of(tree: Path, path: Path, runs: int, env: Mapping[str, str]) -> Path:
    """The same runs (same seed) in the schema the revision writes, built by its own bench_list:
    a revision refuses a ledger whose schema is newer than it knows."""
    build = f"import sys, pathlib; sys.path.insert(0, {str(tree / 'benchmarks')!r}); import bench_list; "
    build += f"bench_list._build(pathlib.Path({str(path)!r}), {runs})"
    c.run_timed([c.PYTHON, "-c", build], cwd=tree, env=env)
    return path


def _export(rev: str, into: Path) -> Path:
    """The revision's tree as files (no worktree bookkeeping left behind in the repository)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=c.ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _layout(tree: Path, into: Path) -> Path:
    """The installed shape of a source tree, as `./dev layout` makes it for the type checks."""
    subprocess.run([str(c.ROOT / "dev"), "layout", str(tree), str(into)], check=True)
    return into


def _timer(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> Callable[[], float]:
    return lambda: c.run_timed(argv, cwd=cwd, env=env)[0]


def _committer(repo: Path, env: Mapping[str, str]) -> Callable[[], float]:
    """A one-line change committed: each call a new commit, as a developer makes them."""
    counter = iter(range(1_000_000))

    def commit() -> float:
        (repo / "notes.txt").write_text(f"change {next(counter)}\n")
        c.git(repo, "add", "notes.txt", env=env)
        return c.run_timed(["git", "commit", "-q", "-m", "change"], cwd=repo, env=env)[0]

    return commit


def _logger(repo: Path, env: Mapping[str, str], steps: int) -> Callable[[], float]:
    def rate() -> float:
        _, proc = c.run_timed([c.PYTHON, "-c", LOGGING_SCRIPT, str(steps)], cwd=repo, env=env)
        return float(proc.stdout.split()[-1])

    return rate


def _figure(value: float, *, rate: bool) -> str:
    return f"{value:,.0f}" if rate else c.seconds(value)


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    c.say(f"\ntook {time.perf_counter() - started:.0f} s")
    sys.exit(code)
