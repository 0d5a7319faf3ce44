"""Whole-command workloads: 5. capture overhead of a trivial run, 6. listing experiments.

Each system gets its own copy of the same small project (git + DVC, 20 params in
`params.yaml`, a one-stage `dvc.yaml`), so neither sees the other's refs or files.
Commands are timed as whole processes, alternated, after one untimed warm-up (none at
the smoke size).
"""

from __future__ import annotations

import json
import runpy
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import _common as c
import compare_data as d
import yaml

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

PROJECT_FILES = 50
"""Committed source files in the project (the snapshot and `git status` see them)."""

TRAIN_PY = """\
import json

import yaml

with open("params.yaml") as f:
    params = yaml.safe_load(f)
acc = 1.0 - params["lr"] * 10
metrics = {"acc": acc, "loss": 1 - acc, "val_acc": acc * 0.97, "val_loss": 1.1 - acc, "f1": acc * 0.95}
with open("metrics.json", "w") as f:
    json.dump(metrics, f)
"""
"""The training script of the listing project: writes 5 metrics from the params."""

LIST_CEILING = """\
import sqlite3, sys
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
runs = conn.execute("SELECT id, name, status, started_at FROM runs ORDER BY started_at DESC, id DESC").fetchall()
params, metrics = {}, {}
for run_id, key, text in conn.execute("SELECT run_id, key, text FROM params"):
    params.setdefault(run_id, {})[key] = text
for run_id, key, value in conn.execute("SELECT run_id, key, value FROM metrics"):
    metrics.setdefault(run_id, {})[key] = value
keys = sorted({k for m in metrics.values() for k in m})
for run_id, name, status, started in runs:
    m, p = metrics.get(run_id, {}), params.get(run_id, {})
    print(run_id[:8], name, status, *(f"{m.get(k, float('nan')):.4g}" for k in keys), p.get("lr", "-"))
"""
"""The floor for `ledger list --all`: Python and the stdlib sqlite3 module reading the same
ledger file and printing one line per run (no SQLAlchemy, no filter language)."""


@dataclass(frozen=True, slots=True)
class Timings:
    """Median wall time per command label, with every repetition kept."""

    runs: dict[str, list[float]]

    def median(self, label: str) -> float:
        """The median of one command's repetitions."""
        return c.median(self.runs[label])


def make_projects(paths: Sequence[Path], env: Mapping[str, str], *, train: bool) -> list[Path]:
    """Committed git + DVC projects, one a system, alike: the first is built, the others are
    copies of it made before anything ran in it (a copy costs no `dvc init` start-up)."""
    first = _make_project(paths[0], env, train=train)
    return [first, *(Path(shutil.copytree(first, path, symlinks=True)) for path in paths[1:])]


def _make_project(path: Path, env: Mapping[str, str], *, train: bool) -> Path:
    """A committed git + DVC project; its one stage runs `python -c pass` or `train.py`."""
    c.make_repo(path, env=env, files=PROJECT_FILES)
    params = d.logging_params()
    params["lr"] = 0.001
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    stage: dict[str, object] = {"cmd": "python -c pass", "params": ["lr"]}
    if train:
        (path / "train.py").write_text(TRAIN_PY)
        (path / "metrics.json").write_text("{}\n")
        stage = {
            "cmd": "python train.py",
            "deps": ["train.py"],
            "params": ["lr"],
            "metrics": [{"metrics.json": {"cache": False}}],
        }
    (path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"train": stage}}, sort_keys=False))
    c.run_timed([str(c.BIN / "dvc"), "init", "-q"], cwd=path, env=env)
    c.git(path, "add", "-A", env=env)
    c.git(path, "commit", "-q", "-m", "project", env=env)
    return path


def capture_overhead(
    work: Path, env: Mapping[str, str], *, repeats: int, warm_up: bool, dvc: bool
) -> Timings:
    """`python -c pass` bare, under `ledger run`, and as `dvc exp run`'s one stage."""
    names = ["capture-ledger", "capture-dvc"] if dvc else ["capture-ledger"]
    ours, *theirs = make_projects([work / name for name in names], env, train=False)
    bare = [c.PYTHON, "-c", "pass"]
    cases = {
        "python -c pass": (bare, ours),
        "ledger run -- python -c pass": ([*c.ledger_command(), "run", "--", *bare], ours),
    }
    if theirs:
        cases["dvc exp run"] = ([str(c.BIN / "dvc"), "exp", "run"], theirs[0])
    return _alternate(cases, env, repeats, warm_up=warm_up)


def listing(
    work: Path, env: Mapping[str, str], *, sizes: Sequence[int], repeats: int, warm_up: bool, dvc: bool
) -> dict[int, Timings]:
    """`ledger list` and `dvc exp show` once the project holds each number of experiments."""
    names = ["list-ledger", "list-dvc"] if dvc else ["list-ledger"]
    ours, *copies = make_projects([work / name for name in names], env, train=True)
    theirs = copies[0] if copies else None
    ledger = c.ledger_command()
    db = ours / ".git" / "ledger" / "ledger.db"
    results = {}
    have = 0
    for size in sizes:
        _add(ours, env, "--add-ledger-runs", have, size - have)
        if theirs is not None:
            _add(theirs, env, "--add-dvc-experiments", have, size - have)
        have = size
        cases = {
            "python -c pass": ([c.PYTHON, "-c", "pass"], ours),
            "python + sqlite3, same rows (floor)": ([c.PYTHON, "-c", LIST_CEILING, str(db)], ours),
            "ledger list": ([*ledger, "list"], ours),
            "ledger list --all": ([*ledger, "list", "--all"], ours),
        }
        if theirs is not None:
            cases["dvc exp show"] = ([str(c.BIN / "dvc"), "exp", "show", "--no-pager"], theirs)
        _check_counts(ours, theirs, env, size)
        results[size] = _alternate(cases, env, repeats, warm_up=warm_up)
    return results


def add_ledger_runs(start: int, count: int) -> None:
    """In the project: set a new `lr`, then run train.py inside `ledger.start_run()`."""
    import ledger

    sys.argv = ["train.py"]  # what the run records as its command (and argv params)
    for i in range(start, start + count):
        _set_lr(i)
        with ledger.start_run(name=f"exp-{i}"):
            runpy.run_path("train.py")


def add_dvc_experiments(start: int, count: int) -> None:
    """In the project: `dvc exp run -S lr=...` through DVC's API (no start-up per run)."""
    from dvc.repo import Repo  # type: ignore[import-untyped]  # noqa: TID251 - the peer under test

    repo = Repo(".")
    try:
        for i in range(start, start + count):
            repo.experiments.run(params=[f"lr={_lr(i)}"])
    finally:
        repo.close()


def _alternate(
    cases: Mapping[str, tuple[list[str], Path]], env: Mapping[str, str], repeats: int, *, warm_up: bool
) -> Timings:
    if warm_up:  # creates the ledger, fills DVC's caches
        for argv, cwd in cases.values():
            c.run_timed(argv, cwd=cwd, env=env)
    return Timings(
        c.alternate({label: _timer(argv, cwd, env) for label, (argv, cwd) in cases.items()}, repeats)
    )


def _timer(argv: list[str], cwd: Path, env: Mapping[str, str]) -> Callable[[], float]:
    return lambda: c.run_timed(argv, cwd=cwd, env=env)[0]


def _add(repo: Path, env: Mapping[str, str], flag: str, start: int, count: int) -> None:
    if count > 0:
        c.run_timed(
            [c.PYTHON, str(Path(__file__).resolve()), flag, str(start), str(count)], cwd=repo, env=env
        )


def _check_counts(ours: Path, theirs: Path | None, env: Mapping[str, str], size: int) -> None:
    """Both sides hold `size` experiments (plus, for DVC, none queued or failed)."""
    _, proc = c.run_timed([*c.ledger_command(), "list", "--all", "--json"], cwd=ours, env=env)
    runs = json.loads(proc.stdout)
    if len(runs) != size or any(len(r["metrics"]) != len(d.FINAL_KEYS) for r in runs):
        raise RuntimeError(f"ledger holds {len(runs)} runs (want {size}, each with 5 metrics)")
    if theirs is not None:
        refs = c.git(theirs, "for-each-ref", "--format=%(refname)", "refs/exps/", env=env).splitlines()
        found = [r for r in refs if not r.startswith("refs/exps/exec/")]
        if len(found) != size:
            raise RuntimeError(f"DVC holds {len(found)} experiments, want {size}")


def _lr(i: int) -> float:
    return round(0.0001 * (i + 2), 6)


def _set_lr(i: int) -> None:
    path = Path("params.yaml")
    params = yaml.safe_load(path.read_text())
    params["lr"] = _lr(i)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


if __name__ == "__main__":
    flag, first, how_many = sys.argv[1:]
    adder = add_ledger_runs if flag == "--add-ledger-runs" else add_dvc_experiments
    adder(int(first), int(how_many))
