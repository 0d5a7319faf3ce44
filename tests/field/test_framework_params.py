"""Params from the config a run used: a real Hydra app, a `--config` script, Lightning's
`hparams.yaml`, each through `ledger run`, `show --json`, `diff` and `reproduce`.

The Hydra project's learning rate lives only in its composed config: before, the
first run had none and `diff` showed `model.optimizer.lr (none) -> 0.01`.
"""

from __future__ import annotations

import json
import os
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

pytest.importorskip("hydra", reason="hydra-core is not installed (test dependency group)")

HYDRA_APP = """\
import json, os
import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    out = hydra.core.hydra_config.HydraConfig.get().runtime.output_dir
    with open(os.path.join(out, "model.pt"), "w") as f:
        f.write(f"weights trained with lr={cfg.model.optimizer.lr}")
    print(f"lr is {cfg.model.optimizer.lr}")


if __name__ == "__main__":
    main()
"""

HYDRA_FILES: dict[str, str | bytes] = {
    "app.py": HYDRA_APP,
    "conf/config.yaml": "defaults:\n  - model: small\n  - _self_\nepochs: 2\n",
    "conf/model/small.yaml": "depth: 2\noptimizer:\n  name: adam\n  lr: 0.001\n",
}


def params_of(run: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    return {p["key"]: (p["value"], p["source"]) for p in run["params"]}


STALE = "outputs/2024-05-01/09-00-00"
"""A folder an earlier run of the app left, as Hydra's own (`.hydra/` and all)."""


@pytest.fixture
def hydra_project(tmp_repo: TmpRepo) -> TmpRepo:
    return _hydra_project(tmp_repo)


def _hydra_project(repo: TmpRepo) -> TmpRepo:
    repo.gen({**HYDRA_FILES, ".gitignore": "outputs/\nmultirun/\n"})
    repo.commit("hydra app")
    return repo


@dataclass(frozen=True)
class TwoRuns:
    """The app with its config as committed, then with a learning rate on the command
    line, beside a stale folder of an earlier run; as `show --json` gave them."""

    repo: TmpRepo
    base: dict[str, Any]
    tuned: dict[str, Any]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    """Each run imports Hydra: the tests that only read these runs share them."""
    with building(tmp_path_factory, "hydra-two-runs") as repo:
        _hydra_project(repo)
        repo.gen(
            {
                f"{STALE}/.hydra/config.yaml": "model:\n  optimizer:\n    lr: 0.5\n  extra: 1\n",
                f"{STALE}/.hydra/overrides.yaml": "- model.optimizer.lr=0.5\n",
            }
        )
        ledger_process("run", "--", sys.executable, "app.py")
        ledger_process("run", "--", sys.executable, "app.py", "model.optimizer.lr=0.01")
        tuned, base = (show_json(r["id"])["run"] for r in runs_json())
        return TwoRuns(repo, base, tuned)


def test_hydra_composed_config_gives_the_first_run_its_lr(
    two_runs: TwoRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(two_runs.repo.root)
    base, tuned = two_runs.base, two_runs.tuned
    first, second = base["summary"], tuned["summary"]

    [base_folder], [tuned_folder] = base["run_folders"], tuned["run_folders"]
    assert base_folder.startswith("outputs/")
    assert tuned_folder.startswith("outputs/")
    assert params_of(base)["model.optimizer.lr"] == (0.001, f"{base_folder}/.hydra/config.yaml")
    assert params_of(base)["model.depth"] == (2, f"{base_folder}/.hydra/config.yaml")
    # The command line wins over the composed config, and says so.
    assert params_of(tuned)["model.optimizer.lr"] == (0.01, "argv")
    assert params_of(tuned)["epochs"] == (2, f"{tuned_folder}/.hydra/config.yaml")
    assert base["capture_errors"] == []
    assert tuned["capture_errors"] == []

    diff = ledger("diff", first["id"], second["id"]).stdout
    assert "model.optimizer.lr  0.001  ->  0.01" in diff
    assert "epochs" not in diff  # the same in both: no spurious row
    shown = ledger("show", second["id"]).stdout
    assert f"wrote into       {tuned_folder}/" in shown
    assert "model.optimizer.lr 0.01   [argv]" in shown


def test_a_template_style_run_dir_is_the_runs_folder(hydra_project: TmpRepo) -> None:
    run_dir = "hydra.run.dir=logs/train/runs/${now:%Y-%m-%d}_${now:%H-%M-%S}"

    ledger_process("run", "--", sys.executable, "app.py", run_dir, "epochs=4")

    run = show_json(runs_json()[0]["id"])["run"]
    [folder] = run["run_folders"]
    assert folder.startswith("logs/train/runs/")
    assert params_of(run)["model.optimizer.lr"] == (0.001, f"{folder}/.hydra/config.yaml")
    assert params_of(run)["epochs"] == (4, "argv")


def test_hydra_multirun_jobs_give_the_params_they_share(hydra_project: TmpRepo) -> None:
    ledger_process("run", "--", sys.executable, "app.py", "-m", "model.depth=3", "model.optimizer.lr=0.1,0.2")

    run = show_json(runs_json()[0]["id"])["run"]
    [folder] = run["run_folders"]
    assert folder.startswith("multirun/")
    params = params_of(run)
    assert params["model.depth"] == (3, "argv")
    assert params["model.optimizer.name"] == ("adam", f"{folder}/0/.hydra/config.yaml")
    # The swept key is the command line's sweep, not one job's value.
    assert params["model.optimizer.lr"] == ("0.1,0.2", "argv")
    assert run["capture_errors"] == []


def test_a_stale_hydra_folder_is_not_this_runs(two_runs: TwoRuns) -> None:
    run = two_runs.base

    assert STALE not in run["run_folders"]
    [folder] = run["run_folders"]
    assert params_of(run)["model.optimizer.lr"] == (0.001, f"{folder}/.hydra/config.yaml")
    assert "model.extra" not in params_of(run)


def test_a_run_reusing_an_earlier_runs_folder_reads_what_it_wrote_there(hydra_project: TmpRepo) -> None:
    # Hydra names folders by the second; a fixed `hydra.run.dir` makes the reuse certain.
    hydra_project.gen({"outputs/fixed/earlier-run-only.txt": "left by an earlier run\n"})
    old = time.time() - 3600
    os.utime(hydra_project.root / "outputs/fixed/earlier-run-only.txt", (old, old))

    ledger_process("run", "--", sys.executable, "app.py", "hydra.run.dir=outputs/fixed", "model.depth=5")

    run = show_json(runs_json()[0]["id"])["run"]
    assert run["run_folders"] == ["outputs/fixed"]
    params = params_of(run)
    assert params["model.optimizer.lr"] == (0.001, "outputs/fixed/.hydra/config.yaml")
    assert params["model.depth"] == (5, "argv")
    assert "outputs/fixed/earlier-run-only.txt" not in [o["path"] for o in run["outputs"]]


def test_reproduce_compares_the_reproductions_own_folder(tmp_repo: TmpRepo) -> None:
    # Nothing ignored: the original's folder is in its snapshot, so in the worktree too.
    tmp_repo.gen(HYDRA_FILES)
    tmp_repo.commit("hydra app")
    ledger_process("run", "--", sys.executable, "app.py", "model.optimizer.lr=0.01")
    original = show_json(runs_json()[0]["id"])["run"]
    [original_folder] = original["run_folders"]
    time.sleep(1 - time.time() % 1)  # Hydra names folders by the second: make it a new one

    done = ledger_process("reproduce", original["summary"]["id"], check=False)

    copy = show_json(runs_json("tag:reproduction")[0]["id"])["run"]
    [copy_folder] = copy["run_folders"]
    assert copy_folder != original_folder
    assert not [o for o in copy["outputs"] if o["path"].startswith(f"{original_folder}/")]
    assert params_of(copy)["model.optimizer.lr"] == (0.01, "argv")
    assert params_of(copy)["model.depth"] == (2, f"{copy_folder}/.hydra/config.yaml")
    # The same files in the two folders are compared; Hydra's own record of its folder
    # and clock is not evidence.
    assert done.returncode == 0, done.stderr
    assert "<run folder>/model.pt" in done.stdout
    assert "<run folder>/.hydra/config.yaml" in done.stdout
    assert "hydra.yaml" not in done.stdout
    assert "matched: 3 outputs identical" in done.stderr


@pytest.mark.parametrize("flag", ["--config", "-c", "--cfg", "--config-file", "--config_file", "--config="])
def test_a_config_file_named_on_the_command_line_is_read(tmp_repo: TmpRepo, flag: str) -> None:
    tmp_repo.gen(
        {
            "train.py": "import sys; print('trained')\n",
            "configs/cfg.yaml": "optimizer:\n  lr: 0.001\n  name: adam\nbatch_size: 32\n",
        }
    )
    tmp_repo.commit("config script")
    given = [f"{flag}configs/cfg.yaml"] if flag.endswith("=") else [flag, "configs/cfg.yaml"]

    ledger_process("run", "--", sys.executable, "train.py", *given, "--optimizer.lr", "0.01")

    run = show_json(runs_json()[0]["id"])["run"]
    params = params_of(run)
    assert params["optimizer.name"] == ("adam", "configs/cfg.yaml")
    assert params["batch_size"] == (32, "configs/cfg.yaml")
    assert params["optimizer.lr"] == (0.01, "argv")  # the command line beats the file
    assert run["capture_errors"] == []


def test_a_json_config_diffs_by_its_values(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen(
        {
            "train.py": "print('trained')\n",
            "a.json": '{"model": {"lr": 0.001}}',
            "b.json": '{"model": {"lr": 0.01}}',
        }
    )
    tmp_repo.commit("two configs")
    ledger_process("run", "--", sys.executable, "train.py", "--config", "a.json")
    ledger_process("run", "--", sys.executable, "train.py", "--config", "b.json")

    second, first = runs_json()
    assert "model.lr  0.001  ->  0.01" in ledger("diff", first["id"], second["id"]).stdout


def test_a_malformed_config_file_is_a_capture_problem(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "print('still trained')\n", "cfg.yaml": "lr: [0.1\n  bad: {\n"})
    tmp_repo.commit("broken config")

    done = ledger_process("run", "--", sys.executable, "train.py", "--config", "cfg.yaml")

    assert "still trained" in done.stdout
    assert "Traceback" not in done.stderr
    run = show_json(runs_json()[0]["id"])["run"]
    assert run["summary"]["status"] == "finished"
    [problem] = run["capture_errors"]
    assert problem.startswith("cfg.yaml: not valid yaml")
    assert params_of(run)["config"] == ("cfg.yaml", "argv")


def test_a_config_flag_that_names_no_file_reads_nothing(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "print('ok')\n"})
    tmp_repo.commit("script")

    ledger_process("run", "--", sys.executable, "train.py", "-c", "4", "--config", "missing.yaml")

    run = show_json(runs_json()[0]["id"])["run"]
    assert run["capture_errors"] == ["missing.yaml: config file named on the command line was not found"]
    assert {k for k, (_, source) in params_of(run).items() if source != "argv"} == set()


LIGHTNING_STYLE = """\
import os, sys
lr = float(sys.argv[sys.argv.index("--lr") + 1])
root = "lightning_logs"
os.makedirs(root, exist_ok=True)
n = len([d for d in os.listdir(root) if d.startswith("version_")])
folder = os.path.join(root, f"version_{n}")
os.makedirs(folder)
with open(os.path.join(folder, "hparams.yaml"), "w") as f:
    f.write(f"lr: {lr}\\nhidden_dim: 64\\nloss: mse\\n")
with open(os.path.join(folder, "metrics.csv"), "w") as f:
    f.write("epoch,train_loss\\n0,0.5\\n")
"""


def test_lightning_hparams_of_this_runs_version_folder(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen(
        {
            "train.py": LIGHTNING_STYLE,
            ".gitignore": "lightning_logs/\n",
            "lightning_logs/version_0/hparams.yaml": "lr: 0.5\nhidden_dim: 8\nold_only: 1\n",
        }
    )
    tmp_repo.commit("lightning script")

    ledger_process("run", "--", sys.executable, "train.py", "--lr", "0.02")

    run = show_json(runs_json()[0]["id"])["run"]
    assert run["run_folders"] == ["lightning_logs/version_1"]
    params = params_of(run)
    assert params["hidden_dim"] == (64, "lightning_logs/version_1/hparams.yaml")
    assert params["lr"] == (0.02, "argv")
    assert "old_only" not in params


def test_trainer_arguments_are_read_only_from_json(tmp_repo: TmpRepo) -> None:
    script = (
        "import json, os\n"
        "os.makedirs('out/run1', exist_ok=True)\n"
        "open('out/run1/training_args.bin', 'wb').write(b'\\x80\\x04not read')\n"
        "json.dump({'learning_rate': 5e-05, 'per_device_train_batch_size': 8},"
        " open('out/run1/training_args.json', 'w'))\n"
    )
    tmp_repo.gen({"train.py": script, ".gitignore": "out/\n"})
    tmp_repo.commit("trainer script")

    ledger_process("run", "--", sys.executable, "train.py")

    run = show_json(runs_json()[0]["id"])["run"]
    params = params_of(run)
    assert params["learning_rate"] == (5e-05, "out/run1/training_args.json")
    assert params["per_device_train_batch_size"] == (8, "out/run1/training_args.json")
    assert run["capture_errors"] == []
    assert not [p for p in run["params"] if p["source"].endswith(".bin")]


INTERPOLATED_CONFIG = """\
defaults:
  - model: small
  - _self_
epochs: 2
paths:
  root_dir: ${oc.env:PROJECT_ROOT}
  data_dir: ${paths.root_dir}/data/
  output_dir: ${hydra:runtime.output_dir}
  unset: ${oc.env:LEDGER_TEST_UNSET_VAR,fallback}
  hub: ${oc.env:LEDGER_TEST_API_TOKEN}
  db: ${oc.env:LEDGER_TEST_DB_URL}
  stamp: ${now:%Y}
loop:
  a: ${loop.b}
  b: ${loop.a}
scheduler:
  lr: ${model.optimizer.lr}
  note: warm up to ${model.optimizer.lr} over ${epochs} epochs
"""


def test_hydra_interpolations_resolve_from_the_config_the_env_and_hydra_yaml(
    hydra_project: TmpRepo,
) -> None:
    """Hydra saves `.hydra/config.yaml` unresolved; what can be resolved without
    OmegaConf is, a secret never, and a cycle or an unknown resolver keeps its text."""
    hydra_project.gen({"conf/config.yaml": INTERPOLATED_CONFIG})
    hydra_project.commit("interpolated config")
    token = "s3cr3t-" + "9f8e7d6c5b4a"
    env = {
        "PROJECT_ROOT": str(hydra_project.root),
        "LEDGER_TEST_API_TOKEN": token,
        "LEDGER_TEST_DB_URL": f"postgresql://trainer:{token}@db.example:5432/runs",
    }

    ledger_process("run", "--", sys.executable, "app.py", env=env)

    shown = show_json(runs_json()[0]["id"])
    run = shown["run"]
    [folder] = run["run_folders"]
    config = f"{folder}/.hydra/config.yaml"
    params = params_of(run)
    root = str(hydra_project.root)
    assert params["paths.root_dir"] == (root, config)
    assert params["paths.data_dir"] == (f"{root}/data/", config)
    assert params["paths.output_dir"] == (folder, config)  # repo-relative, like the run's folder
    assert params["paths.unset"] == ("fallback", config)
    assert params["scheduler.lr"] == (0.001, config)
    assert params["scheduler.note"] == ("warm up to 0.001 over 2 epochs", config)
    # Kept as written: a secret-looking variable is not read; `now` and a cycle are not resolved.
    assert params["paths.hub"] == ("${oc.env:LEDGER_TEST_API_TOKEN}", config)
    assert params["paths.stamp"] == ("${now:%Y}", config)
    assert params["loop.a"] == ("${loop.b}", config)
    assert params["loop.b"] == ("${loop.a}", config)
    # The URL's password is masked as any param's is; the token is nowhere in the record.
    assert params["paths.db"][0].startswith("postgresql://trainer:")
    assert token not in json.dumps(shown)
    assert token not in ledger("show", run["summary"]["id"]).stdout
    assert run["capture_errors"] == []


def test_a_multirun_jobs_own_output_dir_is_no_disagreement(hydra_project: TmpRepo) -> None:
    """Each job's `${hydra:runtime.output_dir}` resolves to its own folder: not a value the
    jobs disagree on (no capture problem), and no one job's folder stands for the run's."""
    hydra_project.gen(
        {"conf/config.yaml": "defaults:\n  - model: small\n  - _self_\nout: ${hydra:runtime.output_dir}\n"}
    )
    hydra_project.commit("output dir in the config")

    ledger_process("run", "--", sys.executable, "app.py", "-m", "model.optimizer.lr=0.1,0.2")

    run = show_json(runs_json()[0]["id"])["run"]
    [folder] = run["run_folders"]
    params = params_of(run)
    assert params["model.optimizer.name"] == ("adam", f"{folder}/0/.hydra/config.yaml")
    assert "out" not in params
    assert run["capture_errors"] == []
