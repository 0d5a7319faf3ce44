"""`ledger backfill` throughput: commits per second over a history of result commits."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import _common as c

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

GOAL_RATE = 200.0
"""Commits with results recorded per second, start to exit of the command."""

T0 = 1_735_689_600
"""2025-01-01T00:00:00Z: the first commit of the generated history."""

SOURCE_FILES = 300
"""Committed files that are not results, so trees have something to walk past."""

PHASES = (
    ("ledger/commits/backfill.py", "cmd_backfill"),
    ("ledger/commits/backfill.py", "result_commits"),
    ("ledger/git/batch.py", "log_commits"),
    ("ledger/store/workspace.py", "open_store"),
    ("ledger/commits/backfill.py", "backfill"),
    ("ledger/commits/runs.py", "known_commits"),
    ("ledger/commits/runs.py", "read_commit_runs"),
    ("ledger/git/batch.py", "list_trees"),
    ("ledger/git/batch.py", "read"),
    ("ledger/commits/blobs.py", "fetch"),
    ("ledger/commits/blobs.py", "fetch_declared"),
    ("ledger/commits/blobs.py", "results"),
    ("ledger/commits/blobs.py", "_dvc_state"),
    ("ledger/commits/blobs.py", "show"),
    ("ledger/dvc/files.py", "read_data_refs"),
    ("ledger/capture/params.py", "parse_params"),
    ("ledger/capture/metrics_files.py", "parse_metrics"),
    ("ledger/commits/runs.py", "record_commit_runs"),
    ("ledger/git/batch.py", "create_refs"),
    ("<frozen importlib._bootstrap>", "_find_and_load"),
)
"""Functions whose cumulative time splits one backfill into phases (nested)."""

DVC_LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data/train.csv
      hash: md5
      md5: {dep:032x}
      size: 1000
    - path: src/train.py
      hash: md5
      md5: {code:032x}
      size: 200
    params:
      params.yaml:
        lr: {lr}
    outs:
    - path: models/model.pkl
      hash: md5
      md5: {out:032x}
      size: 5000
    - path: metrics.json
      hash: md5
      md5: {met:032x}
      size: 60
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Build the history once, then time backfills into fresh ledgers."""
    opts = c.parse_args(__doc__ or "", argv)
    commits, repeats = (200, 3) if opts.quick else (1000, 3)
    work = c.work_dir("backfill")
    env = c.bench_env(work / "home")
    repo = _make_history(work / "repo", commits=commits, env=env)
    c.say(c.machine())
    c.say(
        f"ledger backfill: {commits:,} result commits (params.yaml, metrics.json, dvc.lock) among "
        f"{commits + commits // 4:,} commits, {SOURCE_FILES} other files; fresh ledger each time, "
        f"median of {repeats}"
    )
    command = [c.PYTHON, "-m", "ledger.commits.backfill"]  # `ledger backfill` once it is wired into the CLI
    times = []
    for _ in range(repeats):
        _fresh_ledger(repo, env)
        took, proc = c.run_timed(command, cwd=repo, env=env)
        expected = f"backfill: {commits} commits with results, {commits} recorded, 0 already in the ledger"
        if proc.stderr.strip() != expected:
            raise RuntimeError(f"unexpected backfill output: {proc.stderr!r}")
        times.append(took)
    again, proc = c.run_timed(command, cwd=repo, env=env)
    first = c.median(times)
    rate = commits / first
    c.table(
        "Wall time of the command (interpreter start to exit)",
        ["case", "median", "min", "max", "commits/s"],
        [
            ["backfill into a fresh ledger", c.seconds(first), c.seconds(min(times)), c.seconds(max(times)),
             f"{rate:,.0f}"],
            ["backfill again (nothing new)", c.seconds(again), "-", "-", "-"],
        ],
    )  # fmt: skip
    c.table(
        "Throughput",
        ["measure", "value", f"goal >= {GOAL_RATE:.0f}/s"],
        [["result commits recorded per second", f"{rate:,.0f}/s", c.verdict(rate >= GOAL_RATE)]],
    )
    c.say(f"\nbackfill: {commits} commits in {first:.3f} s = {rate:,.0f} commits/s")
    _profile(repo, env, work / "backfill.prof")
    c.say(f"\n{c.machine()}")
    return 0


def _make_history(path: Path, *, commits: int, env: dict[str, str]) -> Path:
    """`commits` result commits plus one without results every fourth, via `git fast-import`."""
    path.mkdir(parents=True)
    c.git(path, "init", "-q", "-b", "main", env=env)
    out: list[bytes] = []

    def blob(name: str, text: str) -> None:
        data = text.encode()
        out.append(f"M 100644 inline {name}\ndata {len(data)}\n".encode() + data + b"\n")

    def commit(n: int, message: str) -> None:
        out.append(
            f"commit refs/heads/main\ncommitter Bench <bench@example.com> {T0 + 600 * n} +0000\n"
            f"data {len(message)}\n{message}\n".encode()
        )

    n = 0
    commit(n, "initial")
    blob("dvc.yaml", "stages:\n  train:\n    cmd: python src/train.py\n    params: [lr]\n")
    for i in range(SOURCE_FILES):
        blob(f"src/pkg{i // 50}/mod{i % 50}.py", f"VALUE = {i}\n")
    for i in range(commits):
        n += 1
        commit(n, f"experiment {i}")
        lr = round(0.001 * (i + 1), 6)
        blob("params.yaml", f"lr: {lr}\nepochs: {10 + i % 5}\nmodel:\n  depth: {i % 7}\n  width: 64\n")
        metrics = {
            "acc": 0.5 + i / (4 * commits),
            "loss": 1 / (i + 1),
            "eval": {"f1": 0.4 + i / (3 * commits)},
        }
        blob("metrics.json", json.dumps(metrics))
        blob("dvc.lock", DVC_LOCK.format(dep=1, code=i // 10, lr=lr, out=i, met=i + 7))
        if i % 4 == 0:
            n += 1
            commit(n, f"refactor {i}")
            blob(f"src/pkg{i % 6}/mod{i % 50}.py", f"VALUE = {i}  # edited\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, env=env, input=b"".join(out), check=True)
    c.git(path, "reset", "-q", "--hard", env=env)
    return path


def _fresh_ledger(repo: Path, env: dict[str, str]) -> None:
    """Drop the ledger and the run refs a previous backfill made."""
    shutil.rmtree(repo / ".git" / "ledger", ignore_errors=True)
    refs = c.git(repo, "for-each-ref", "--format=delete %(refname)", "refs/ledger/", env=env)
    if refs:
        subprocess.run(
            ["git", "update-ref", "--stdin"], cwd=repo, env=env, input=refs + "\n", text=True, check=True
        )


def _profile(repo: Path, env: dict[str, str], out: Path) -> None:
    """cProfile one backfill into a fresh ledger; its clock inflates Python-heavy phases."""
    _fresh_ledger(repo, env)
    wall, _ = c.run_timed(
        [c.PYTHON, "-m", "cProfile", "-o", str(out), "-m", "ledger.commits.backfill"], cwd=repo, env=env
    )
    c.table(
        f"cProfile of one backfill (wall {wall:.3f} s under the profiler; phases nest)",
        ["phase (function)", "cumulative"],
        [[name, c.seconds(took)] for name, took in c.profile_functions(out, PHASES)],
    )


if __name__ == "__main__":
    sys.exit(main())
