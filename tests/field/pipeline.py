"""Shape (a): a multi-stage `dvc.yaml` pipeline that trains through DVCLive.

As in DVC's example projects: `prepare -> train -> evaluate`, DVCLive writing under
`results/train` (its own `params.yaml`, `metrics.json`, step series, and entries it
adds to the tracked `dvc.yaml` as it runs), an evaluate stage whose metrics file shares
the key `dice` with training's, and a plots JSON holding a bare `Infinity`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.repo import TmpRepo

PARAMS = "train:\n  lr: {lr}\n  epochs: 3\nevaluate:\n  threshold: 0.5\n"

PREPARE = """\
import pathlib
rows = pathlib.Path("data/raw.csv").read_text().splitlines()
pathlib.Path("data/prepared.csv").write_text("\\n".join(rows[1:]) + "\\n")
"""

TRAIN = """\
import yaml
from dvclive import Live

params = yaml.safe_load(open("params.yaml"))["train"]
rows = open("data/prepared.csv").read().split()
with Live(dir="results/train", save_dvc_exp=False) as live:
    live.log_params(params)
    for epoch in range(params["epochs"]):
        live.log_metric("loss", round(1.0 / (1 + epoch * params["lr"] * 10), 6))
        live.log_metric("dice", round(0.9 + epoch * params["lr"], 6))
        live.next_step()
open("model.bin", "wb").write(bytes([len(rows), int(params["lr"] * 100)]) * 64)
"""

EVALUATE = """\
import json, os
model = open("model.bin", "rb").read()
os.makedirs("results/evaluate/plots", exist_ok=True)
json.dump({"dice": round(0.8 + model[1] / 1000, 6), "precision": 0.75},
          open("results/evaluate/metrics.json", "w"))
# json.dump writes a bare Infinity, as many scripts' first validation loss is.
json.dump([{"step": 0, "val_loss": float("inf")}, {"step": 1, "val_loss": 0.61},
           {"step": 2, "val_loss": 0.42}], open("results/evaluate/plots/history.json", "w"))
json.dump([{"threshold": 0.1, "recall": 0.9}, {"threshold": 0.05, "recall": 0.95}],
          open("results/evaluate/plots/prc.json", "w"))
"""

DVC_YAML = """\
stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py, data/raw.csv]
    outs: [data/prepared.csv]
  train:
    cmd: python train.py
    deps: [train.py, data/prepared.csv]
    params: [train.lr, train.epochs]
    outs: [results/train, model.bin]
  evaluate:
    cmd: python evaluate.py
    deps: [evaluate.py, model.bin]
    params: [evaluate.threshold]
    outs: [results/evaluate]
metrics:
- results/evaluate/metrics.json
plots:
- results/evaluate/plots/history.json:
    x: step
- results/evaluate/plots/prc.json:
    x: recall
    y: threshold
"""


def build(repo: TmpRepo, *, lr: float = 0.01) -> None:
    """The project as a new clone has it: code and `dvc add`ed raw data committed."""
    repo.gen({
        "data/raw.csv": "x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(200)),
        "params.yaml": PARAMS.format(lr=lr),
        "prepare.py": PREPARE,
        "train.py": TRAIN,
        "evaluate.py": EVALUATE,
        "dvc.yaml": DVC_YAML,
    })  # fmt: skip
    repo.dvc_add("data/raw.csv")
    repo.commit("pipeline")


def set_lr(repo: TmpRepo, lr: float) -> None:
    """Change the one param a sweep varies."""
    repo.gen({"params.yaml": PARAMS.format(lr=lr)})
