"""Metrics and series from the logs training frameworks write, through `ledger run`,
`show --json`, `diff` and `reproduce`, with files written by the real writers (torch's
`SummaryWriter`, Lightning's loggers) or in the exact shape the framework writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json
from tests.projects import building

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

SUMMARY_WRITER = """\
import sys
import torch
from torch.utils.tensorboard import SummaryWriter
lr = float(sys.argv[1])
with SummaryWriter("runs/exp") as w:
    for step in range(5):
        w.add_scalar("train/loss", 1.0 / (1 + lr * step), step)
        w.add_histogram("weights", torch.tensor([0.1 * step, 0.2, 0.3]), step)
    w.add_scalar("val/acc", 0.5 + lr, 4)
"""

TWO_EVENT_FILES = """\
import sys, time
from torch.utils.tensorboard import SummaryWriter
lr = float(sys.argv[1])
with SummaryWriter("runs/exp") as fit:
    for step in range(3):
        fit.add_scalar("loss", 1.0 - lr * step, step)
        fit.add_scalar("epoch", step, step)
time.sleep(1.01 - time.time() % 1)  # the file's name holds the second it was made: the next one
with SummaryWriter("runs/exp") as test:  # Lightning's `trainer.test` opens a second file
    test.add_scalar("loss", 0.5 - lr, 3)
    test.add_scalar("epoch", 3, 3)
"""

TRAINER = """\
import json, os, sys
lr = float(sys.argv[1])
out = sys.argv[2] if len(sys.argv) > 2 else "out"
history = []
for step in range(1, 5):
    history.append({"epoch": step / 2, "grad_norm": 0.5, "learning_rate": lr, "loss": 2.0 - lr * step, "step": step})
    if step % 2 == 0:
        history.append({"epoch": step / 2, "eval_loss": 1.9 - lr * step, "eval_runtime": 0.01, "step": step})
        os.makedirs(f"{out}/checkpoint-{step}", exist_ok=True)
        json.dump({"global_step": step, "log_history": history}, open(f"{out}/checkpoint-{step}/trainer_state.json", "w"), indent=2)
history.append({"epoch": 2.0, "step": 4, "total_flos": 10.0, "train_loss": 1.7, "train_runtime": 0.5})
json.dump({"global_step": 4, "log_history": history}, open(f"{out}/trainer_state.json", "w"), indent=2)
results = {"epoch": 2.0, "eval_loss": 1.9 - 4 * lr, "train_loss": 1.7}
json.dump(results, open(f"{out}/all_results.json", "w"))
json.dump({"epoch": 2.0, "eval_loss": results["eval_loss"]}, open(f"{out}/eval_results.json", "w"))
json.dump({"epoch": 2.0, "train_loss": 1.7}, open(f"{out}/train_results.json", "w"))
"""

KERAS = """\
import csv, sys
lr = float(sys.argv[1])
append = len(sys.argv) > 2
first = int(sys.argv[2]) if append else 0
with open("training.log", "a" if append else "w", newline="") as f:  # as keras.callbacks.CSVLogger
    writer = csv.DictWriter(f, fieldnames=["epoch", "accuracy", "loss", "val_accuracy", "val_loss"])
    if not append:
        writer.writeheader()
    for epoch in range(first, first + 3):
        writer.writerow({"epoch": epoch, "accuracy": 0.5 + lr * epoch, "loss": 1 - lr * epoch,
                         "val_accuracy": 0.4 + lr * epoch, "val_loss": 1.1 - lr * epoch})
"""

LIGHTNING = """\
import sys
import torch
import lightning as L
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

lr = float(sys.argv[1])
L.seed_everything(0, verbose=False)


class Model(L.LightningModule):
    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()  # the TensorBoard logger then writes hp_metric = -1
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


g = torch.Generator().manual_seed(0)
x = torch.randn(64, 4, generator=g)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16)
trainer = L.Trainer(
    max_epochs=2,
    logger=[CSVLogger("logs", name="csv"), TensorBoardLogger("logs", name="tb")],
    log_every_n_steps=1,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
    accelerator="cpu",
)
trainer.fit(Model(lr), loader, loader)
"""


def _project(repo: TmpRepo, script: str, *, extra: dict[str, str | bytes] | None = None) -> TmpRepo:
    repo.gen({"train.py": script, ".gitignore": "runs/\nout/\nlogs/\ntraining.log\n", **(extra or {})})
    repo.commit("training script")
    return repo


def _run(*args: str, script: str = "train.py") -> dict[str, Any]:
    """`ledger run -- python train.py ARGS`; the parts of `show --json` the tests read."""
    ledger_process("run", "--", sys.executable, script, *args)
    shown = show_json(runs_json()[0]["id"])
    run = shown["run"]
    return {
        "id": run["summary"]["id"],
        "status": run["summary"]["status"],
        "metrics": run["summary"]["metrics"],
        "metric_sources": {m["key"]: m["source"] for m in run["metrics"]},
        "series": shown["series"],
        "capture_errors": run["capture_errors"],
    }


def _reproduce(run_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.reproduce.command", run_id],
        capture_output=True,
        text=True,
        check=False,
    )


def _diff_line(a: str, b: str, key: str) -> list[str]:
    diff = ledger("diff", a, b).stdout
    return next(line.split() for line in diff.splitlines() if line.split()[1:2] == [key])


def test_summary_writer_scalars_are_series_and_metrics(tmp_repo: TmpRepo) -> None:
    pytest.importorskip("tensorboard")
    _project(tmp_repo, SUMMARY_WRITER)

    first = _run("0.5")
    second = _run("0.25")

    assert first["metrics"] == {"train/loss": pytest.approx(1 / 3), "val/acc": 1.0}
    source = first["metric_sources"]["train/loss"]
    assert source.startswith("runs/exp/events.out.tfevents.")
    assert first["metric_sources"]["val/acc"] == source
    assert first["series"]["train/loss"]["steps"] == [0, 1, 2, 3, 4]
    assert first["series"]["train/loss"]["values"][1] == pytest.approx(1 / 1.5)
    assert "weights" not in first["series"]  # a histogram is no scalar
    assert first["capture_errors"] == []
    assert _diff_line(first["id"], second["id"], "val/acc")[2:5] == ["1", "->", "0.75"]
    done = _reproduce(first["id"])
    assert done.returncode == 0, done.stdout + done.stderr
    again = next(r for r in runs_json() if r["id"] not in (first["id"], second["id"]))
    assert again["metrics"] == first["metrics"]


def test_a_tag_in_two_event_files_of_a_folder_is_one_series_named_by_the_folder(tmp_repo: TmpRepo) -> None:
    """Named by each file, the keys would hold the files' time, host and process, and
    line up with no other run's."""
    pytest.importorskip("tensorboard")
    _project(tmp_repo, TWO_EVENT_FILES)

    first = _run("0.1")
    second = _run("0.2")

    assert first["metrics"] == {"loss": pytest.approx(0.4)}
    assert first["metric_sources"] == {"loss": "runs/exp"}
    assert first["series"]["loss"]["steps"] == [0, 1, 2, 3]
    assert first["capture_errors"] == []
    assert _diff_line(first["id"], second["id"], "loss")[2:5] == ["0.4", "->", "0.3"]


def test_trainer_history_and_results_once_each(tmp_repo: TmpRepo) -> None:
    _project(tmp_repo, TRAINER)

    first = _run("0.1")
    second = _run("0.2")

    assert first["metrics"]["eval_loss"] == pytest.approx(1.5)
    assert first["metric_sources"]["eval_loss"] == "out/all_results.json"
    assert first["metric_sources"]["loss"] == "out/trainer_state.json"
    # One history (the newest, not each checkpoint's copy), one set of results.
    assert first["series"]["loss"]["steps"] == [1, 2, 3, 4]
    assert first["series"]["eval_loss"]["steps"] == [2, 4]
    assert not any(":" in key for key in first["metrics"])
    assert "epoch" not in first["series"]
    assert _diff_line(first["id"], second["id"], "eval_loss")[2:5] == ["1.5", "->", "1.1"]
    done = _reproduce(first["id"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_keras_csv_logger_epochs(tmp_repo: TmpRepo) -> None:
    _project(tmp_repo, KERAS)

    first = _run("0.1")
    second = _run("0.2")

    assert first["series"]["val_loss"]["steps"] == [0, 1, 2]
    assert first["metrics"]["val_loss"] == pytest.approx(0.9)
    assert first["metric_sources"]["val_loss"] == "training.log"
    assert _diff_line(first["id"], second["id"], "loss")[2:5] == ["0.8", "->", "0.6"]
    done = _reproduce(first["id"])
    assert done.returncode == 0, done.stdout + done.stderr


@dataclass(frozen=True)
class LightningRuns:
    """Two trainings with both of Lightning's loggers, in one repository."""

    repo: TmpRepo
    first: dict[str, Any]
    second: dict[str, Any]


@pytest.fixture(scope="module")
def lightning_runs(tmp_path_factory: pytest.TempPathFactory) -> LightningRuns:
    """Each training imports Lightning: the tests that read these runs share them."""
    pytest.importorskip("lightning")
    pytest.importorskip("tensorboard")
    with building(tmp_path_factory, "lightning-runs") as repo:
        _project(repo, LIGHTNING)
        return LightningRuns(repo, _run("0.05"), _run("0.01"))


def test_lightning_csv_and_tensorboard_loggers(
    lightning_runs: LightningRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real Lightning run with both loggers: what both wrote is one metric, not two."""
    pytest.importorskip("lightning")
    pytest.importorskip("tensorboard")
    monkeypatch.chdir(lightning_runs.repo.root)

    first, second = lightning_runs.first, lightning_runs.second

    csv_file = "logs/csv/version_0/metrics.csv"
    assert first["metric_sources"]["val_loss"] == csv_file
    assert first["metric_sources"]["train_loss"] == csv_file
    assert first["series"]["train_loss"]["steps"] == list(range(8))
    assert first["series"]["val_loss"]["steps"] == [3, 7]
    assert not any(
        key.endswith("_loss") and key != "val_loss" and key != "train_loss" for key in first["metrics"]
    )
    assert "epoch" not in first["metrics"]  # an index, as the CSV's column is
    assert second["metric_sources"]["val_loss"] == "logs/csv/version_1/metrics.csv"
    line = _diff_line(first["id"], second["id"], "val_loss")
    assert line[3] == "->"
    assert float(line[2]) == pytest.approx(first["metrics"]["val_loss"], rel=1e-5)
    assert first["capture_errors"] == []
    done = _reproduce(first["id"])
    assert done.returncode == 0, done.stdout + done.stderr


LIGHTNING_HP_METRIC = """\
import torch
import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

L.seed_everything(0, verbose=False)


class Model(L.LightningModule):
    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()  # the logger writes hp_metric = -1, then the values logged as it
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("val_loss", loss)
        self.log("hp_metric", loss)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


g = torch.Generator().manual_seed(0)
x = torch.randn(32, 4, generator=g)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16)
trainer = L.Trainer(
    max_epochs=2,
    logger=TensorBoardLogger("logs", name="tb"),
    log_every_n_steps=1,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
    accelerator="cpu",
)
trainer.fit(Model(0.05), loader, loader)
"""


def test_lightnings_hp_metric_placeholder_is_no_metric(
    lightning_runs: LightningRuns, tmp_repo: TmpRepo
) -> None:
    """The trainings with both loggers save their hyperparameters and log no `hp_metric`:
    their TensorBoard logger wrote its placeholder."""
    pytest.importorskip("lightning")
    pytest.importorskip("tensorboard")
    _project(tmp_repo, LIGHTNING_HP_METRIC)

    placeholder = lightning_runs.first
    logged = _run()

    assert "val_loss" in placeholder["metrics"]
    assert "hp_metric" not in placeholder["metrics"]
    assert "hp_metric" not in placeholder["series"]
    # A value the user logs as hp_metric is a measurement: kept, without the -1 of step 0.
    assert logged["series"]["hp_metric"]["steps"] == [1, 3]
    assert logged["series"]["hp_metric"]["values"] == logged["series"]["val_loss"]["values"]
    assert logged["metrics"]["hp_metric"] == logged["metrics"]["val_loss"]
    assert placeholder["capture_errors"] == logged["capture_errors"] == []


def test_an_empty_version_beside_a_full_one(tmp_repo: TmpRepo) -> None:
    """Lightning made `version_0` and wrote nothing in it before a restart filled `version_1`."""
    script = (
        "import os\n"
        "for v, rows in (('version_0', ''), ('version_1', '0,0,0.5\\r\\n0,1,0.25\\r\\n')):\n"
        "    os.makedirs(f'lightning_logs/{v}', exist_ok=True)\n"
        "    open(f'lightning_logs/{v}/metrics.csv', 'w', newline='').write('epoch,step,loss\\r\\n' + rows)\n"
    )
    _project(tmp_repo, script)

    run = _run()

    assert run["metrics"] == {"loss": 0.25}
    assert run["metric_sources"] == {"loss": "lightning_logs/version_1/metrics.csv"}
    assert run["capture_errors"] == []


def test_an_earlier_runs_folder_is_not_read(tmp_repo: TmpRepo) -> None:
    stale = "lightning_logs/version_0/metrics.csv"
    script = (
        "import os\n"
        "os.makedirs('lightning_logs/version_1')\n"
        "open('lightning_logs/version_1/metrics.csv', 'w').write('epoch,step,loss\\n0,0,0.5\\n')\n"
    )
    _project(tmp_repo, script, extra={".gitignore": "lightning_logs/\n"})
    tmp_repo.gen({stale: "epoch,step,loss,acc\n0,0,9.0,0.1\n", "runs/old/events.out.tfevents.1.host": b"x"})
    old = time.time() - 3600
    for path in (stale, "runs/old/events.out.tfevents.1.host"):
        os.utime(tmp_repo.root / path, (old, old))

    run = _run()

    assert run["metrics"] == {"loss": 0.5}
    assert run["capture_errors"] == []


def test_a_corrupt_event_file_is_a_capture_problem(tmp_repo: TmpRepo) -> None:
    pytest.importorskip("tensorboard")
    script = SUMMARY_WRITER + (
        "import glob\n"
        "path = glob.glob('runs/exp/events.out.tfevents.*')[0]\n"
        "raw = bytearray(open(path, 'rb').read())\n"
        "raw[-6] ^= 0xFF  # a flipped byte in the last record's value, then a torn write\n"
        "open(path, 'wb').write(bytes(raw) + b'\\x10\\x00\\x00')\n"
    )
    _project(tmp_repo, script)

    run = _run("0.5")

    assert run["status"] == "finished"
    assert run["series"]["train/loss"]["steps"] == [0, 1, 2, 3, 4]  # read before the damage
    assert "val/acc" not in run["metrics"]  # the damaged record
    problems = [e for e in run["capture_errors"] if "events.out.tfevents" in e]
    assert len(problems) == 2
    assert any("1 damaged record(s) skipped" in p for p in problems)
    assert any("truncated" in p for p in problems)


def test_a_resumed_csv_log_counts_only_the_rows_appended(tmp_repo: TmpRepo) -> None:
    _project(tmp_repo, KERAS)
    _run("0.1")

    resumed = _run("0.1", "3")  # `CSVLogger(append=True)` after a restart at epoch 3

    assert resumed["series"]["loss"]["steps"] == [3, 4, 5]
    assert resumed["metrics"]["loss"] == pytest.approx(0.5)


def test_a_resumed_trainer_counts_only_the_steps_after_its_checkpoint(tmp_repo: TmpRepo) -> None:
    resume = """\
import json, os
# Resume from checkpoint-2: its history, then new steps with the new values.
history = json.load(open("out/checkpoint-2/trainer_state.json"))["log_history"]
for step in (3, 4):
    history.append({"epoch": step / 2, "loss": 0.5 / step, "step": step})
os.makedirs("out/checkpoint-4", exist_ok=True)
json.dump({"global_step": 4, "log_history": history}, open("out/checkpoint-4/trainer_state.json", "w"))
"""
    _project(tmp_repo, TRAINER, extra={"resume.py": resume})
    _run("0.1")

    run = _run(script="resume.py")

    assert run["series"]["loss"]["steps"] == [3, 4]
    assert run["series"]["loss"]["values"] == [pytest.approx(0.5 / 3), 0.125]
    assert run["metric_sources"]["loss"] == "out/checkpoint-4/trainer_state.json"
    assert "eval_loss" not in run["metrics"]  # the first run's, not this one's


def test_events_logged_before_the_run_started_are_not_its_own(tmp_repo: TmpRepo) -> None:
    pytest.importorskip("tensorboard")
    script = (
        "import time\n"
        "from torch.utils.tensorboard import SummaryWriter\n"
        "with SummaryWriter('runs/exp') as w:\n"
        "    w.add_scalar('loss', 9.0, 0, walltime=time.time() - 3600)  # replayed from an earlier run\n"
        "    w.add_scalar('loss', 0.5, 1)\n"
    )
    _project(tmp_repo, script)

    run = _run()

    assert run["series"]["loss"]["steps"] == [1]
    assert run["metrics"] == {"loss": 0.5}


def test_another_layout_named_in_tool_ledger(tmp_repo: TmpRepo) -> None:
    script = (
        "import json\n"
        "open('epochs.csv', 'w').write('epoch,score\\n0,0.5\\n1,0.75\\n')\n"
        "json.dump({'final': {'score': 0.75}}, open('scores.json', 'w'))\n"
        "open('metrics.csv', 'w').write('step,loss\\n0,1.0\\n')\n"
    )
    pyproject = '[tool.ledger]\nframework_logs = ["epochs.csv", "scores.json"]\n'
    _project(tmp_repo, script, extra={"pyproject.toml": pyproject})

    run = _run()

    assert run["metric_sources"] == {"score": "epochs.csv", "final.score": "scores.json"}  # no metrics.csv
    assert run["series"]["score"]["steps"] == [0, 1]


def test_a_keras_csv_log_of_any_name_is_read_and_other_tables_are_not(tmp_repo: TmpRepo) -> None:
    """`CSVLogger("../log.csv")` has no default name: the `epoch` header says what it is.
    A table the run wrote with another first column is an output, not a metrics log."""
    script = KERAS.replace('"training.log"', '"log.csv"') + (
        "open('predictions.csv', 'w').write('id,score\\n1,0.5\\n2,0.7\\n')\n"
    )
    _project(tmp_repo, script)

    first = _run("0.1")

    assert first["metric_sources"]["val_loss"] == "log.csv"
    assert first["series"]["val_loss"]["steps"] == [0, 1, 2]
    assert "score" not in first["metrics"]


TRAINER_WITH_TENSORBOARD = """\
import json, os, sys
from torch.utils.tensorboard import SummaryWriter

lr = float(sys.argv[1])
differ = sys.argv[2:] == ["differ"]  # a callback of the user's own also writes `eval/loss`, its way
history = []
writer = SummaryWriter("out/runs/Dec06_07-00-00_host")


def rewrite_logs(d):  # transformers.integrations.integration_utils.rewrite_logs
    new_d = {}
    for k, v in d.items():
        if k.startswith("eval_"):
            new_d["eval/" + k[len("eval_"):]] = v
        elif k.startswith("test_"):
            new_d["test/" + k[len("test_"):]] = v
        else:
            new_d["train/" + k] = v
    return new_d


def log(logs, step):  # Trainer.log, then TensorBoardCallback.on_log
    history.append({**logs, "step": step})
    for k, v in rewrite_logs(logs).items():
        if isinstance(v, (int, float)):
            if differ and k == "eval/loss":
                v += 0.25
            writer.add_scalar(k, v, step)


for step in range(1, 5):
    log({"loss": 2.0 - lr * step, "grad_norm": 0.5 + step / 3, "learning_rate": lr / step, "epoch": step / 2}, step)
    if step % 2 == 0:
        log({"eval_loss": 1.9 - lr * step, "eval_runtime": 0.01, "epoch": step / 2}, step)
log({"train_runtime": 0.5, "total_flos": 1.2e12, "train_loss": 1.7, "epoch": 2.0}, 4)
writer.add_scalar("eval/accuracy", 0.8, 4)  # from a callback of the user's: no Trainer counterpart
writer.close()
os.makedirs("out", exist_ok=True)
json.dump({"global_step": 4, "log_history": history}, open("out/trainer_state.json", "w"), indent=2)
"""


def test_the_trainers_tensorboard_copies_are_not_metrics_twice(tmp_repo: TmpRepo) -> None:
    """transformers' TensorBoard callback logs `eval_loss` again as `eval/loss`, `loss` as
    `train/loss`: each is listed once, under the Trainer's name."""
    pytest.importorskip("tensorboard")
    _project(tmp_repo, TRAINER_WITH_TENSORBOARD)

    run = _run("0.1")

    state = "out/trainer_state.json"
    for key in (
        "loss",
        "grad_norm",
        "learning_rate",
        "eval_loss",
        "eval_runtime",
        "train_loss",
        "total_flos",
    ):
        assert run["metric_sources"][key] == state, key
    events = run["metric_sources"]["eval/accuracy"]
    assert events.startswith("out/runs/Dec06_07-00-00_host/events.out.tfevents.")
    assert run["metrics"]["eval/accuracy"] == pytest.approx(0.8)
    copies = {"train/loss", "train/grad_norm", "train/learning_rate", "eval/loss", "eval/runtime"}
    assert not copies & set(run["metrics"])
    assert not copies & set(run["series"])
    assert run["series"]["eval_loss"]["steps"] == [2, 4]
    assert run["capture_errors"] == []


def test_a_tensorboard_tag_with_other_values_than_the_trainers_stays(tmp_repo: TmpRepo) -> None:
    pytest.importorskip("tensorboard")
    _project(tmp_repo, TRAINER_WITH_TENSORBOARD)

    run = _run("0.1", "differ")

    assert run["metrics"]["eval_loss"] == pytest.approx(1.5)
    assert run["metrics"]["eval/loss"] == pytest.approx(1.75)
    assert run["series"]["eval/loss"]["steps"] == [2, 4]
    assert "train/loss" not in run["metrics"]  # the same values: still a copy
