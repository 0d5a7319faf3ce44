"""Which of the folders made during a run are its own, and what their configs say."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.capture.config_params import SOURCE_MAX
from ledger.capture.params import params_from
from ledger.capture.run_folder import own_folders
from ledger.core.comparable import RUN_FOLDER_MARK, folder_relative

if TYPE_CHECKING:
    from pathlib import Path


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_folder_whose_config_contradicts_the_command_line_is_another_runs(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "lightning_logs/version_0/hparams.yaml": "lr: 0.1\nwidth: 8\n",
            "lightning_logs/version_1/hparams.yaml": "lr: 0.2\nwidth: 8\n",
        },
    )
    argv = params_from({"lr": 0.2}, "argv")

    found = own_folders(tmp_path, ["lightning_logs"], [], argv)

    assert found.folders == ["lightning_logs/version_1"]
    assert [(p.key, p.value, p.source) for p in found.params] == [
        ("lr", 0.2, "lightning_logs/version_1/hparams.yaml"),
        ("width", 8, "lightning_logs/version_1/hparams.yaml"),
    ]
    assert found.problems == []


def test_hydra_overrides_tell_a_group_choice_apart(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "outputs/d/t1/.hydra/config.yaml": "model:\n  depth: 2\n",
            "outputs/d/t1/.hydra/overrides.yaml": "- model=small\n",
            "outputs/d/t2/.hydra/config.yaml": "model:\n  depth: 9\n",
            "outputs/d/t2/.hydra/overrides.yaml": "- model=big\n",
        },
    )

    found = own_folders(tmp_path, ["outputs/d"], [], params_from({"model": "big"}, "argv"))

    assert found.folders == ["outputs/d/t2"]
    assert [(p.key, p.value) for p in found.params] == [("model.depth", 9)]


def test_a_multirun_keeps_its_folder_and_what_the_jobs_share(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "multirun/d/t/multirun.yaml": "hydra: {}\n",
            "multirun/d/t/0/.hydra/config.yaml": "lr: 0.1\nepochs: 3\n",
            "multirun/d/t/0/.hydra/overrides.yaml": "- lr=0.1\n",
            "multirun/d/t/1/.hydra/config.yaml": "lr: 0.2\nepochs: 3\n",
            "multirun/d/t/1/.hydra/overrides.yaml": "- lr=0.2\n",
        },
    )

    swept = own_folders(tmp_path, ["multirun/d/t"], [], params_from({"lr": "0.1,0.2"}, "argv"))
    unswept = own_folders(tmp_path, ["multirun/d/t"], [], [])

    assert swept.folders == ["multirun/d/t"]
    assert [(p.key, p.value) for p in swept.params] == [("epochs", 3)]
    assert swept.problems == []
    # Not on the command line: the differing key is not dropped silently.
    [problem] = unswept.problems
    assert problem.startswith("param 'lr' differs between the run's folders")


def test_a_folder_with_no_config_is_kept(tmp_path: Path) -> None:
    write(tmp_path, {"runs/2026-01-01_10-00-00/log.txt": "hello\n"})

    found = own_folders(tmp_path, ["runs/2026-01-01_10-00-00"], [], params_from({"lr": 0.1}, "argv"))

    assert found.folders == ["runs/2026-01-01_10-00-00"]
    assert found.params == []


def test_a_config_the_run_rewrote_in_an_old_folder_counts(tmp_path: Path) -> None:
    write(tmp_path, {"logs/hparams.yaml": "lr: 0.3\n", "logs/old.txt": "earlier\n"})

    found = own_folders(tmp_path, [], ["logs/hparams.yaml", "train.py"], [])

    assert found.folders == ["logs"]
    assert [(p.key, p.source) for p in found.params] == [("lr", "logs/hparams.yaml")]


def test_a_malformed_folder_config_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    write(tmp_path, {"lightning_logs/version_0/hparams.yaml": "lr: !!python/object:argparse.Namespace {}\n"})

    found = own_folders(tmp_path, ["lightning_logs/version_0"], [], [])

    assert found.folders == ["lightning_logs/version_0"]
    assert found.params == []
    [problem] = found.problems
    assert problem.startswith("lightning_logs/version_0/hparams.yaml: not valid yaml")


def test_folder_relative() -> None:
    folders = ["outputs/2026-01-01/10-00-00"]
    assert folder_relative("outputs/2026-01-01/10-00-00/model.pt", folders) == f"{RUN_FOLDER_MARK}/model.pt"
    assert (
        folder_relative("outputs/2026-01-01/10-00-00/m.csv:loss", folders) == f"{RUN_FOLDER_MARK}/m.csv:loss"
    )
    assert folder_relative("metrics.json:acc", folders) == "metrics.json:acc"
    assert folder_relative("outputs/2026-01-01/10-00-001/x", folders) == "outputs/2026-01-01/10-00-001/x"


def test_a_config_written_at_the_root_is_read_but_the_root_is_no_run_folder(tmp_path: Path) -> None:
    write(tmp_path, {"training_args.json": '{"learning_rate": 0.001}'})

    found = own_folders(tmp_path, [], ["training_args.json"], [])

    assert found.folders == []
    assert [(p.key, p.value, p.source) for p in found.params] == [
        ("learning_rate", 0.001, "training_args.json")
    ]


def test_a_template_run_folder_keeps_hydras_and_lightnings_params(tmp_path: Path) -> None:
    run = "logs/train/runs/2026-01-01_10-00-00"
    write(
        tmp_path,
        {
            f"{run}/.hydra/config.yaml": "model:\n  optimizer:\n    lr: 0.001\nseed: 12\n",
            f"{run}/csv/version_0/hparams.yaml": "model/params/total: 1000\nseed: 12\n",
        },
    )

    found = own_folders(tmp_path, [run], [], [])

    assert found.folders == [run]
    assert {p.key: p.source for p in found.params} == {
        "model.optimizer.lr": f"{run}/.hydra/config.yaml",
        "seed": f"{run}/.hydra/config.yaml",
        "model/params/total": f"{run}/csv/version_0/hparams.yaml",
    }
    assert found.problems == []


def test_a_source_longer_than_the_column_keeps_its_end(tmp_path: Path) -> None:
    job = "multirun/d/t/" + "/".join(f"model.layer{i}.width={i}" for i in range(20))
    write(tmp_path, {f"{job}/.hydra/config.yaml": "lr: 0.1\n"})

    [param] = own_folders(tmp_path, [job], [], []).params

    assert len(param.source) == SOURCE_MAX
    assert param.source.startswith("...")
    assert param.source.endswith("=19/.hydra/config.yaml")


def test_a_lone_folder_that_saved_a_derived_value_is_still_the_runs(tmp_path: Path) -> None:
    write(tmp_path, {"lightning_logs/version_0/hparams.yaml": "lr: 0.04\nwidth: 8\n"})

    found = own_folders(tmp_path, ["lightning_logs/version_0"], [], params_from({"lr": 0.01}, "argv"))

    assert found.folders == ["lightning_logs/version_0"]
    assert {p.key: p.value for p in found.params} == {"lr": 0.04, "width": 8}


def test_an_interpolation_left_as_text_does_not_contradict_its_resolved_value(tmp_path: Path) -> None:
    """The Lightning-Hydra template: Hydra's config resolves `${paths.data_dir}`, the
    loggers' `hparams.yaml` keep it as text; the value is kept, with no warning."""
    run = "logs/train/runs/2026-12-06_05-00-00"
    write(
        tmp_path,
        {
            f"{run}/.hydra/config.yaml": "paths:\n  data_dir: /data\ndata:\n  data_dir: ${paths.data_dir}\n",
            f"{run}/csv/version_0/hparams.yaml": "data:\n  data_dir: ${paths.data_dir}\n",
            f"{run}/tensorboard/version_0/hparams.yaml": "data:\n  data_dir: ${paths.data_dir}\n",
        },
    )

    found = own_folders(tmp_path, [run], [], [])

    assert found.problems == []
    assert {p.key: p.value for p in found.params}["data.data_dir"] == "/data"
