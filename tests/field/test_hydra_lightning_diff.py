"""A Lightning-Hydra-template-shaped project: each run writes into `logs/train/runs/<time>/`,
and its config holds paths inside that folder (`paths.output_dir`, the trainer's root, the
checkpoint folder, the loggers' folders). A run and its twin must diff as the same run,
`ledger list` must pick the param that was varied, and a multirun's Rich progress bar must
give no metrics."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json
from tests.projects import building

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

pytest.importorskip("hydra", reason="hydra-core is not installed (test dependency group)")
pytest.importorskip("lightning", reason="lightning is not installed (test dependency group)")
pytest.importorskip("tensorboard", reason="tensorboard is not installed (test dependency group)")

TRAIN = """\
import hydra
import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from omegaconf import DictConfig


class Model(L.LightningModule):
    def __init__(self, lr):
        super().__init__()
        self.lr = lr
        self.layer = torch.nn.Linear(4, 1)

    def step(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def training_step(self, batch, _):
        loss = self.step(batch)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, _):
        self.log("val/loss", self.step(batch))
        # Names as long as fit Rich's bar column one `key: value` to a line, as the
        # template's `val/loss: 0.181` did in an 80-column log.
        self.log("val/metric", self.step(batch), prog_bar=True)
        self.log("val/acc", 1 / (1 + self.step(batch)), prog_bar=True)

    def test_step(self, batch, _):
        self.log("test/loss", self.step(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


@hydra.main(version_base=None, config_path="configs", config_name="train")
def main(cfg: DictConfig) -> None:
    L.seed_everything(cfg.seed, verbose=False)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    loader = torch.utils.data.DataLoader(data, batch_size=16)
    trainer = L.Trainer(
        max_epochs=cfg.trainer.max_epochs,
        default_root_dir=cfg.trainer.default_root_dir,
        logger=[CSVLogger(cfg.logger.csv.save_dir, name="csv"), TensorBoardLogger(cfg.logger.tensorboard.save_dir)],
        callbacks=[ModelCheckpoint(dirpath=cfg.callbacks.model_checkpoint.dirpath), RichProgressBar()],
        log_every_n_steps=1,
        enable_model_summary=False,
        accelerator="cpu",
    )
    model = Model(cfg.model.optimizer.lr)
    trainer.fit(model, loader, loader)
    trainer.test(model, loader, verbose=False)
    print("    holdout/score: 0.18")
    print("val/acc: 0.5")  # the metrics files hold it: they win


if __name__ == "__main__":
    main()
"""

CONFIG = """\
seed: 7
data_dir: data/v1
model:
  optimizer:
    lr: 0.001
trainer:
  max_epochs: 2
  default_root_dir: ${paths.output_dir}
paths:
  output_dir: ${hydra:runtime.output_dir}
logger:
  csv:
    save_dir: ${paths.output_dir}
  tensorboard:
    save_dir: ${paths.output_dir}/tensorboard/
callbacks:
  model_checkpoint:
    dirpath: ${paths.output_dir}/checkpoints
hydra:
  run:
    dir: logs/train/runs/${now:%Y-%m-%d}_${now:%H-%M-%S}
  sweep:
    dir: logs/train/multiruns/${now:%Y-%m-%d}_${now:%H-%M-%S}
    subdir: ${hydra.job.num}
"""

FOLDER_PARAMS = (
    "paths.output_dir",
    "trainer.default_root_dir",
    "logger.csv.save_dir",
    "logger.tensorboard.save_dir",
    "callbacks.model_checkpoint.dirpath",
)


@pytest.fixture
def template(tmp_repo: TmpRepo) -> TmpRepo:
    return _template(tmp_repo)


def _template(repo: TmpRepo) -> TmpRepo:
    repo.gen({"train.py": TRAIN, "configs/train.yaml": CONFIG, ".gitignore": "logs/\n"})
    repo.commit("lightning-hydra project")
    return repo


@dataclass(frozen=True)
class Trained:
    """Three runs of the template in one repository, as `show --json` gave them."""

    repo: TmpRepo
    first: dict[str, Any]
    twin: dict[str, Any]
    """The same command again."""
    tuned: dict[str, Any]
    """Another learning rate and data folder."""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Each training imports Lightning: the tests that only compare these runs share them."""
    with building(tmp_path_factory, "hydra-lightning") as repo:
        _template(repo)
        return Trained(repo, _run(), _run(), _run("model.optimizer.lr=0.05", "data_dir=data/v2"))


@pytest.fixture
def in_trained(trained: Trained, monkeypatch: pytest.MonkeyPatch) -> Trained:
    """The shared runs, with their repository as the working directory."""
    monkeypatch.chdir(trained.repo.root)
    return trained


def _run(*overrides: str) -> dict[str, Any]:
    ledger_process("run", "--", sys.executable, "train.py", *overrides)
    run: dict[str, Any] = show_json(runs_json()[0]["id"])["run"]
    return run


def _params(run: dict[str, Any]) -> dict[str, Any]:
    return {p["key"]: p["value"] for p in run["params"]}


def _section(diff: str, title: str) -> list[str]:
    """The rows under one heading of `ledger diff`'s text."""
    lines = diff.splitlines()
    if title not in lines:
        return []
    rows = lines[lines.index(title) + 1 :]
    return [row for row in rows[: rows.index("") if "" in rows else None] if row.startswith(" * ")]


def test_a_twin_of_a_hydra_run_diffs_as_the_same_run(in_trained: Trained) -> None:
    first, twin = in_trained.first, in_trained.twin

    [folder], [twin_folder] = first["run_folders"], twin["run_folders"]
    assert folder != twin_folder
    # The record keeps the paths the run was given: the comparison reads them by place.
    assert _params(first)["paths.output_dir"] == folder
    assert _params(twin)["callbacks.model_checkpoint.dirpath"] == f"{twin_folder}/checkpoints"
    assert not any("tfevents" in m["key"] or m["key"] == "epoch" for m in first["metrics"])
    diff = ledger("diff", first["summary"]["id"], twin["summary"]["id"]).stdout
    assert _section(diff, "params") == []
    assert _section(diff, "metrics") == []
    assert f"   {folder}  ->  {twin_folder}" in diff.splitlines()
    everything = ledger("diff", "--all", first["summary"]["id"], twin["summary"]["id"]).stdout
    assert ["paths.output_dir", folder, "->", twin_folder] in [row.split() for row in everything.splitlines()]


def test_two_hydra_runs_diff_by_what_was_changed(in_trained: Trained) -> None:
    base, tuned = in_trained.first, in_trained.tuned

    diff = ledger("diff", base["summary"]["id"], tuned["summary"]["id"]).stdout
    changed = [row.split()[1] for row in _section(diff, "params")]
    # A path outside the run's folder is a real change; those inside it are not.
    assert changed == ["data_dir", "model.optimizer.lr"]
    assert "val/loss" in [row.split()[1] for row in _section(diff, "metrics")]
    header = ledger("list").stdout.splitlines()[0].split()
    assert "params.model.optimizer.lr" in header
    assert "params.data_dir" in header
    assert not any(f"params.{key}" in header for key in FOLDER_PARAMS)


def test_a_multiruns_progress_bar_gives_no_metrics(template: TmpRepo) -> None:
    run = _run("-m", "model.optimizer.lr=0.01,0.05", "trainer.max_epochs=1")

    assert run["summary"]["status"] == "finished"
    log = ledger("log", run["summary"]["id"]).stdout
    assert "\n" + " " * 20 in log, "Rich wrapped no progress bar: the test shows nothing"
    from_log = {m["key"]: m["value"] for m in run["metrics"] if m["source"] == "log"}
    # The script's own line is read; the bar's wrapped `val/loss: 0.123` lines are not.
    assert from_log == {"holdout/score": 0.18}
    [folder] = run["run_folders"]
    keys = {m["key"] for m in run["metrics"]}
    assert {f"{folder}/{job}/csv/version_0/metrics.csv:val/metric" for job in (0, 1)} <= keys
    # Each job's TensorBoard copy of its CSV's values is left out, as in a single run.
    assert not any("tfevents" in key for key in keys)
    # The swept key is recorded as the command line's sweep, not one job's value.
    assert _params(run)["model.optimizer.lr"] == "0.01,0.05"
