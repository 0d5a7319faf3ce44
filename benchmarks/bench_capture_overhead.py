"""Overhead of `ledger run -- python train.py` over bare `python train.py` on a DVC pipeline.

The project is the shape of DVC's example pipelines (and of the field corpus's
fixture (a)): `prepare -> train -> evaluate` in `dvc.yaml`, a `params.yaml`, raw data
tracked by a real `dvc add` (20 MB in 40 files; `--quick`: 4 MB), a `dvc.lock` from a
real `dvc repro`, and a `train.py` that writes what DVCLive writes under
`results/train` (metrics, params, two step series) plus a model: five outputs, new
content every run (no seed), so every run leaves a dirty tree to snapshot.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from typing import TYPE_CHECKING

import _common as c

from ledger.delivery import handover as run_records

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

GOAL_OVERHEAD = 0.5
"""Seconds `ledger run` may add to a training command."""

OUTPUTS = (
    "models/model.pt",
    "results/train/metrics.json",
    "results/train/params.yaml",
    "results/train/plots/metrics/loss.tsv",
    "results/train/plots/metrics/dice.tsv",
)
"""What train.py writes, each run anew."""

PARAMS = (
    "prepare:\n  split: 0.2\ntrain:\n  lr: 0.01\n  epochs: 5\n  batch_size: 32\nevaluate:\n  threshold: 0.5\n"
)

PREPARE = """\
import pathlib
rows = [f"{p.name},{p.stat().st_size}" for p in sorted(pathlib.Path("data/raw").iterdir())]
pathlib.Path("data/prepared.csv").write_text("\\n".join(rows) + "\\n")
"""

# DVCLive's files, written by hand: the benchmark must not need dvclive installed.
TRAIN = """\
import json, os, random, yaml
params = yaml.safe_load(open("params.yaml"))["train"]
rows = open("data/prepared.csv").read().split()
os.makedirs("results/train/plots/metrics", exist_ok=True)
os.makedirs("models", exist_ok=True)
loss, dice = [], []
for step in range(params["epochs"]):
    loss.append(round(1.0 / (1 + step * params["lr"] * 10) + random.random() / 100, 6))
    dice.append(round(0.8 + step * params["lr"] + random.random() / 100, 6))
for name, values in (("loss", loss), ("dice", dice)):
    with open(f"results/train/plots/metrics/{name}.tsv", "w") as f:
        f.write(f"step\\t{name}\\n" + "".join(f"{i}\\t{v}\\n" for i, v in enumerate(values)))
with open("results/train/params.yaml", "w") as f:
    yaml.safe_dump(params, f)
json.dump({"step": len(loss) - 1, "loss": loss[-1], "dice": dice[-1]}, open("results/train/metrics.json", "w"))
with open("models/model.pt", "wb") as f:
    f.write(os.urandom(256 * 1024) * len(rows))
"""

EVALUATE = """\
import json, os
size = os.path.getsize("models/model.pt")
os.makedirs("results/evaluate", exist_ok=True)
json.dump({"dice": 0.75 + size % 7 / 100, "precision": 0.7}, open("results/evaluate/metrics.json", "w"))
"""

DVC_YAML = """\
stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py, data/raw]
    params: [prepare.split]
    outs: [data/prepared.csv]
  train:
    cmd: python train.py
    deps: [train.py, data/prepared.csv]
    params: [train]
    outs: [models/model.pt]
    metrics:
    - results/train/metrics.json:
        cache: false
    plots:
    - results/train/plots/metrics:
        cache: false
        x: step
  evaluate:
    cmd: python evaluate.py
    deps: [evaluate.py, models/model.pt]
    params: [evaluate.threshold]
    metrics:
    - results/evaluate/metrics.json:
        cache: false
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Build the project, time both commands alternately, then show what was recorded."""
    opts = c.parse_args(__doc__ or "", argv)
    data_files, repeats = (8, 2) if opts.quick else (40, 7)
    work = c.work_dir("capture-overhead")
    env = c.bench_env(work / "home")
    repo = _make_project(work / "project", env=env, data_files=data_files)
    data_mb = data_files * 512 / 1024
    c.say(c.machine())
    c.say(
        f"ledger run overhead on a DVC pipeline: 3 stages, {data_mb:g} MB in {data_files} files "
        f"tracked by dvc add, {len(OUTPUTS)} outputs per run; median of {repeats} alternating runs each"
    )
    bare = [c.PYTHON, "train.py"]
    wrapped = [*c.ledger_command(), "run", "--", *bare]
    spool = repo / ".git" / "ledger" / "spool"
    recorded: list[float] = []

    cpu: dict[str, list[float]] = {"bare": [], "ledger": []}

    def timed(name: str, argv: list[str]) -> float:
        """Wall time of one command; its CPU time (its own and its children's) noted."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, _ = c.run_timed(argv, cwd=repo, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return wall

    def ledger_run() -> float:
        """One timed `ledger run`; then, untimed, wait until its detached recorder has
        put it in the ledger, so it does not slow the next command down."""
        wall = timed("ledger", wrapped)
        recorded.append(wall + _wait_recorded(spool))
        return wall

    first = ledger_run()  # creates the ledger, hashes the data into the hash cache
    c.run_timed(bare, cwd=repo, env=env)
    for noted in cpu.values():
        noted.clear()  # the warm-up runs are not figures
    times = c.alternate({"bare": lambda: timed("bare", bare), "ledger": ledger_run}, repeats)
    base, wrap = c.median(times["bare"]), c.median(times["ledger"])
    overhead = wrap - base
    c.table(
        "Wall time per command",
        ["command", "median", "min", "max", "vs bare"],
        [
            [" ".join(["python", *bare[1:]]), *_spread(times["bare"]), "1.00x"],
            ["ledger run -- python train.py", *_spread(times["ledger"]), c.ratio(wrap / base)],
            ["  (first ledger run: creates the ledger, hashes the data)", c.seconds(first), "-", "-", "-"],
            ["  (start to the run being in the ledger)", *_spread(recorded[1:]), "-"],
        ],
    )
    cpu_overhead = c.median(cpu["ledger"]) - c.median(cpu["bare"])
    c.table(
        "Capture overhead of ledger run",
        ["measure", "value", f"goal < {GOAL_OVERHEAD} s"],
        [
            [
                "median(ledger run) - median(bare), wall",
                c.seconds(overhead),
                c.verdict(overhead < GOAL_OVERHEAD),
            ],
            ["the same in CPU time (user + system, git included)", c.seconds(cpu_overhead), "-"],
        ],
    )
    c.say(
        "CPU time does not grow with the machine's load as wall time does; the detached "
        "recorder that writes the run into the ledger after the command ends is not in either."
    )
    _show_record(repo, env)
    c.say(f"\n{c.machine()}")
    return 0


def _make_project(root: Path, *, env: dict[str, str], data_files: int) -> Path:
    """The pipeline as a clone has it after one `dvc repro`: everything committed."""
    root.mkdir(parents=True)
    c.git(root, "init", "-q", "-b", "main", env=env)
    c.run_timed([str(c.BIN / "dvc"), "init", "-q"], cwd=root, env=env)
    rng = random.Random(0)
    (root / "data" / "raw").mkdir(parents=True)
    for i in range(data_files):
        (root / "data" / "raw" / f"shard-{i:03d}.bin").write_bytes(rng.randbytes(512 * 1024))
    for name, text in {
        "params.yaml": PARAMS,
        "prepare.py": PREPARE,
        "train.py": TRAIN,
        "evaluate.py": EVALUATE,
        "dvc.yaml": DVC_YAML,
    }.items():
        (root / name).write_text(text)
    c.run_timed([str(c.BIN / "dvc"), "add", "-q", "data/raw"], cwd=root, env=env)
    c.run_timed([str(c.BIN / "dvc"), "repro", "-q"], cwd=root, env=env)
    c.git(root, "add", "-A", env=env)
    c.git(root, "commit", "-q", "-m", "pipeline", env=env)
    return root


def _spread(values: list[float]) -> list[str]:
    return [c.seconds(c.median(values)), c.seconds(min(values)), c.seconds(max(values))]


def _wait_recorded(spool: Path) -> float:
    """Seconds until no run waits in the spool for its recorder (`ledger.delivery.handover`)."""
    start = time.perf_counter()
    while run_records.handed_over(spool):
        time.sleep(0.005)
    return time.perf_counter() - start


def _show_record(repo: Path, env: dict[str, str]) -> None:
    """What the last run's record holds: the capture measured is the whole capture."""
    listed = c.run_timed([*c.ledger_command(), "list", "--all", "--json"], cwd=repo, env=env)[1]
    last = json.loads(listed.stdout)[0]["id"]
    shown = json.loads(
        c.run_timed([*c.ledger_command(), "show", last, "--json"], cwd=repo, env=env)[1].stdout
    )
    run = shown["run"]
    outputs = {o["path"] for o in run["outputs"]}
    left = sorted(set(OUTPUTS) - outputs)
    missing = f" (not: {', '.join(left)})" if left else ""
    c.table(
        f"What the last run recorded ({last[:12]})",
        ["part", "recorded"],
        [
            ["code snapshot", f"{run['snapshot'][:12]} (dirty: {run['summary']['dirty']})"],
            ["data refs (dvc.lock, *.dvc)", len(run["data"])],
            ["params", len(run["params"])],
            ["metrics", len(run["metrics"])],
            ["environment packages", len((shown.get("environment") or {}).get("packages", []))],
            ["outputs train.py wrote", f"{len(outputs & set(OUTPUTS))} of {len(OUTPUTS)}{missing}"],
            ["capture problems", len(run["capture_errors"])],
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
