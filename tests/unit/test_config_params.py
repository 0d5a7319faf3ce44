"""The config file a command line names, and the configs frameworks leave in a run's folder."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ledger.capture.config_params import is_folder_config, named_config_files, read_config, read_named_configs
from ledger.core.redact import MASK

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["python", "train.py", "--config", "cfg.yaml"], ["cfg.yaml"]),
        (["python", "train.py", "--config=conf/a.yml"], ["conf/a.yml"]),
        (["python", "train.py", "-c", "cfg.json", "--cfg", "b.toml"], ["cfg.json", "b.toml"]),
        (["python", "train.py", "--config-file", "x.yaml", "--config_file=y.yaml"], ["x.yaml", "y.yaml"]),
        (["torchrun", "--nproc_per_node", "2", "train.py", "--config", "c.yaml"], ["c.yaml"]),
        # The launcher's own config file configures the launcher, not the training.
        (["accelerate", "launch", "--config_file", "acc.yaml", "train.py", "-c", "t.yaml"], ["t.yaml"]),
        (["python", "train.py", "-c", "4"], []),
        (["python", "train.py", "--config"], []),
        (["python", "train.py", "--", "--config", "cfg.yaml"], []),
        (["python", "-c", "print(1)", "--config", "cfg.yaml"], []),
        (["make", "--config", "cfg.yaml"], []),
    ],
    ids=[
        "space",
        "equals",
        "short-and-cfg",
        "file-spellings",
        "torchrun",
        "accelerate",
        "not-a-file",
        "no-value",
        "after-dashes",
        "inline-code",
        "a-tool",
    ],
)
def test_named_config_files(argv: list[str], expected: list[str]) -> None:
    assert named_config_files(argv) == expected


def test_a_named_config_is_flattened_and_tagged_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "cfg.yaml").write_text("model:\n  lr: 1e-3\n  layers: [2, 3]\nseed: 7\n")
    errors: list[str] = []

    params = read_named_configs(
        ["python", "train.py", "--config", "cfg.yaml"], cwd=tmp_path / "conf", root=tmp_path, errors=errors
    )

    assert {p.key: (p.value, p.source) for p in params} == {
        "model.lr": (0.001, "conf/cfg.yaml"),
        "model.layers": ([2, 3], "conf/cfg.yaml"),
        "seed": (7, "conf/cfg.yaml"),
    }
    assert errors == []


def test_a_config_outside_the_repo_keeps_its_spelling(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "shared.json").write_text('{"lr": 0.1}')
    errors: list[str] = []

    params = read_named_configs(
        ["python", "t.py", "-c", "../shared.json"], cwd=repo, root=repo, errors=errors
    )

    assert [(p.key, p.value, p.source) for p in params] == [("lr", 0.1, "../shared.json")]


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("cfg.yaml", "lr: [0.1\n", "conf/cfg.yaml: not valid yaml"),
        ("cfg.json", "{lr: 0.1", "conf/cfg.json: not valid json"),
        ("cfg.json", "[1, 2]", "conf/cfg.json: expected a mapping of params, got list"),
    ],
    ids=["broken-yaml", "broken-json", "not-a-mapping"],
)
def test_a_broken_config_is_one_problem_line(tmp_path: Path, name: str, text: str, problem: str) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / name).write_text(text)
    errors: list[str] = []

    params = read_named_configs(
        ["python", "t.py", "--config", f"conf/{name}"], cwd=tmp_path, root=tmp_path, errors=errors
    )

    assert params == []
    [line] = errors
    assert line.startswith(problem)
    assert "\n" not in line


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("outputs/2026-01-01/10-00-00/.hydra/config.yaml", True),
        ("lightning_logs/version_3/hparams.yaml", True),
        ("out/run/training_args.json", True),
        ("out/run/training_args.bin", False),
        ("outputs/2026-01-01/10-00-00/.hydra/hydra.yaml", False),
        ("conf/config.yaml", False),
    ],
)
def test_folder_configs(path: str, expected: bool) -> None:
    assert is_folder_config(path) is expected


def test_references_to_keys_of_the_same_config_are_resolved(tmp_path: Path) -> None:
    (tmp_path / "hparams.yaml").write_text(
        "optimizer:\n  lr: 0.01\nscheduler:\n  lr: ${optimizer.lr}\n"
        "a: ${b}\nb: ${a}\npath: ${paths.data_dir}/x\nstamp: ${now:%Y}\nnote: lr ${optimizer.lr}\n"
    )
    errors: list[str] = []

    params = {p.key: p.value for p in read_config(tmp_path / "hparams.yaml", "hparams.yaml", errors)}

    assert params["scheduler.lr"] == 0.01
    assert params["note"] == "lr 0.01"
    # A cycle, a key the file does not have, a resolver OmegaConf alone has: kept as written.
    assert params["a"] == "${b}"
    assert params["b"] == "${a}"
    assert params["path"] == "${paths.data_dir}/x"
    assert params["stamp"] == "${now:%Y}"
    assert errors == []


def test_malformed_nested_escaped_and_endless_interpolations_are_kept_as_written(tmp_path: Path) -> None:
    chain = "".join(f"k{n}: ${{k{n + 1}}}\n" for n in range(2000)) + "k2000: 1\n"
    (tmp_path / "hparams.yaml").write_text(
        "lr: 0.1\nopen: ${lr\nnested: ${oc.env:LEDGER_TEST_UNSET_VAR,${lr}}\n"
        "escaped: \\${lr}\nempty: ${}\nself: ${self}\n" + chain
    )
    errors: list[str] = []

    params = {p.key: p.value for p in read_config(tmp_path / "hparams.yaml", "hparams.yaml", errors)}

    assert params["open"] == "${lr"
    assert params["nested"] == "${oc.env:LEDGER_TEST_UNSET_VAR,${lr}}"
    assert params["escaped"] == "\\${lr}"
    assert params["empty"] == "${}"
    assert params["self"] == "${self}"
    assert params["k0"] == "${k1}"  # too long a chain: kept, not a crash
    assert params["k1990"] == 1
    assert errors == []


def test_a_token_in_a_config_is_never_stored(tmp_path: Path) -> None:
    (tmp_path / "training_args.json").write_text(
        '{"hub_token": "hf_abcdefghijklmnopqrstuvwxyz0123", "pad_token_id": 0, "logger": {"api_key": "k-123"},'
        ' "max_tokens": 512, "hub_model_id": "me/model"}'
    )

    params = {p.key: p.value for p in read_config(tmp_path / "training_args.json", "training_args.json", [])}

    assert params == {
        "hub_token": MASK,
        "pad_token_id": 0,
        "logger.api_key": MASK,
        "max_tokens": 512,
        "hub_model_id": "me/model",
    }
