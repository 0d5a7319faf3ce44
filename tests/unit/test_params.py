"""Unit tests for ledger.capture.params: flattening, params files, argv params, storage rows, merging."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from ledger.capture.params import flatten, merge_params, params_from, parse_argv_params, read_params_file
from ledger.core.param_values import from_row, to_row
from ledger.core.records import Param

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.core.param_values import ParamValue


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def argv(*args: str) -> dict[str, ParamValue]:
    """Parse a command line as `ledger run -- python train.py ARGS` would see it."""
    return parse_argv_params(["python", *args])


# flatten


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, {}),
        ({"lr": 0.1}, {"lr": 0.1}),
        ({"model": {"depth": 3, "act": "relu"}}, {"model.depth": 3, "model.act": "relu"}),
        ({"a": {"b": {"c": {"d": 1}}}}, {"a.b.c.d": 1}),
        ({"layers": [64, 32], "opt": {"betas": [0.9, 0.99]}}, {"layers": [64, 32], "opt.betas": [0.9, 0.99]}),
        ({"aug": {}}, {"aug": {}}),
        ({"a": None, "b": {"c": None}}, {"a": None, "b.c": None}),
        ({"list_of_maps": [{"x": 1}]}, {"list_of_maps": [{"x": 1}]}),
    ],
    ids=[
        "empty",
        "flat",
        "nested",
        "deep",
        "lists-stay-whole",
        "empty-mapping-kept",
        "nulls",
        "maps-in-lists",
    ],
)
def test_flatten_joins_nested_keys_with_dots(
    data: dict[str, object], expected: dict[str, ParamValue]
) -> None:
    assert flatten(data) == expected


def test_flatten_prefixes_every_key() -> None:
    assert flatten({"a": 1, "b": {"c": 2}}, "train.") == {"train.a": 1, "train.b.c": 2}


# read_params_file


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("params.yaml", "train:\n  lr: 0.1\n  epochs: 3\n  amp: true\nname: resnet\nlayers: [1, 2]\n"),
        ("params.yml", "train:\n  lr: 0.1\n  epochs: 3\n  amp: true\nname: resnet\nlayers: [1, 2]\n"),
        (
            "params.json",
            '{"train": {"lr": 0.1, "epochs": 3, "amp": true}, "name": "resnet", "layers": [1, 2]}',
        ),
        ("params.toml", 'name = "resnet"\nlayers = [1, 2]\n[train]\nlr = 0.1\nepochs = 3\namp = true\n'),
        ("params.cfg", "train:\n  lr: 0.1\n  epochs: 3\n  amp: true\nname: resnet\nlayers: [1, 2]\n"),
        (
            "PARAMS.JSON",
            '{"train": {"lr": 0.1, "epochs": 3, "amp": true}, "name": "resnet", "layers": [1, 2]}',
        ),
    ],
    ids=["yaml", "yml", "json", "toml", "unknown-suffix-is-yaml", "suffix-case-insensitive"],
)
def test_read_params_file_reads_each_format_flat_and_typed(tmp_path: Path, name: str, content: str) -> None:
    params = read_params_file(write(tmp_path, name, content))

    assert params == {
        "train.lr": 0.1,
        "train.epochs": 3,
        "train.amp": True,
        "name": "resnet",
        "layers": [1, 2],
    }
    assert type(params["train.epochs"]) is int
    assert type(params["train.amp"]) is bool


@pytest.mark.parametrize(
    "name",
    ["params.yaml", "params.toml"],
    ids=["yaml", "toml"],
)
def test_read_params_file_of_an_empty_file_is_no_params(tmp_path: Path, name: str) -> None:
    assert read_params_file(write(tmp_path, name, "")) == {}


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("params.json", '{"lr": ', "params.json: not valid json: "),
        ("params.json", "", "params.json: not valid json: "),
        ("params.toml", "lr = \n", "params.toml: not valid toml: "),
        ("params.toml", b"lr = '\xff'\n", "params.toml: not valid toml: "),
        ("params.yaml", "train: [1, 2\n  b: 3\n", "params.yaml: not valid yaml: "),
        ("params.yaml", "a: 1\n\tb: 2\n", "params.yaml: not valid yaml: "),
        ("params", "a: [\n", "params: not valid yaml: "),
    ],
    ids=["json", "empty-json", "toml", "toml-not-utf8", "yaml-unclosed", "yaml-tab", "no-suffix"],
)
def test_read_params_file_malformed_raises_one_line_value_error(
    tmp_path: Path, name: str, content: str | bytes, reason: str
) -> None:
    with pytest.raises(ValueError, match=f"^{reason}") as info:
        read_params_file(write(tmp_path, name, content))

    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "got"),
    [
        ("params.json", "[1, 2]", "list"),
        ("params.json", '"lr"', "str"),
        ("params.yaml", "- 1\n- 2\n", "list"),
        ("params.yaml", "3\n", "int"),
    ],
    ids=["json-list", "json-string", "yaml-list", "yaml-scalar"],
)
def test_read_params_file_rejects_a_non_mapping(tmp_path: Path, name: str, content: str, got: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}: expected a mapping of params, got {got}$"):
        read_params_file(write(tmp_path, name, content))


def test_read_params_file_types_yaml_exponent_floats_as_numbers(tmp_path: Path) -> None:
    # DVC reads params.yaml as YAML 1.2, where `1e-3` is a float; `params.lr < 0.01` must match.
    params = read_params_file(write(tmp_path, "params.yaml", "lr: 1e-3\n"))

    assert params == {"lr": 0.001}


# parse_argv_params


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--lr", "0.1"], {"lr": 0.1}),
        (["--lr=0.1"], {"lr": 0.1}),
        (["lr=0.1"], {"lr": 0.1}),
        (["--flag"], {"flag": True}),
        (["--flag", "--lr", "0.1"], {"flag": True, "lr": 0.1}),
        (["--flag", "lr=0.1"], {"flag": True, "lr": 0.1}),
        (["--epochs", "3"], {"epochs": 3}),
        (["--name", "resnet"], {"name": "resnet"}),
        (["--amp", "false"], {"amp": False}),
        (["--opt", "null"], {"opt": None}),
        (["--tag="], {"tag": ""}),
        (["--batch-size", "32"], {"batch_size": 32}),
        (["--model.depth", "4"], {"model.depth": 4}),
        (["model.depth=4"], {"model.depth": 4}),
        (["+trainer.devices=2"], {"trainer.devices": 2}),
        (["++trainer.devices=2"], {"trainer.devices": 2}),
        (["~trainer.logger=null"], {"trainer.logger": None}),
        (["--out=a=b"], {"out": "a=b"}),
    ],
    ids=[
        "space",
        "equals",
        "bare-assignment",
        "flag-alone",
        "flag-then-option",
        "flag-then-assignment",
        "int",
        "string",
        "bool",
        "null",
        "empty-value",
        "dashes-become-underscores",
        "dotted-option",
        "dotted-assignment",
        "hydra-append",
        "hydra-force",
        "hydra-delete",
        "value-holds-equals",
    ],
)
def test_parse_argv_params_reads_option_styles(args: list[str], expected: dict[str, ParamValue]) -> None:
    assert argv("train.py", *args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--shift", "-1"], {"shift": -1}),
        (["--shift", "-1.5"], {"shift": -1.5}),
        (["--shift=-1"], {"shift": -1}),
        (["shift=-1"], {"shift": -1}),
    ],
    ids=["space-int", "space-float", "equals", "assignment"],
)
def test_parse_argv_params_takes_a_negative_number_as_the_value(
    args: list[str], expected: dict[str, ParamValue]
) -> None:
    assert argv("train.py", *args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--lr", "1e-3"], {"lr": 0.001}),
        (["--lr", "5E-4"], {"lr": 0.0005}),
        (["--steps", "1e5"], {"steps": 100000.0}),
        (["--seed", "010"], {"seed": 10}),
        (["--clip", "1:30"], {"clip": "1:30"}),
    ],
    ids=["exponent", "exponent-uppercase", "exponent-no-sign", "leading-zero-is-decimal", "colon-is-text"],
)
def test_parse_argv_params_types_numbers_as_a_python_cli_would(
    args: list[str], expected: dict[str, ParamValue]
) -> None:
    # argparse's type=float/int read these as 0.001, 10...; YAML 1.1 makes `1e-3` a string,
    # `010` octal 8 and `1:30` sexagesimal 90, which would record the wrong value.
    assert argv("train.py", *args) == expected


@pytest.mark.parametrize(
    "args",
    [["--", "--lr", "0.1"], ["--", "lr=0.1"]],
    ids=["option-after", "assignment-after"],
)
def test_parse_argv_params_stops_at_double_dash(args: list[str]) -> None:
    assert argv("train.py", "--epochs", "3", *args) == {"epochs": 3}


@pytest.mark.parametrize(
    "args",
    [["-v"], ["data/input.csv"], ["--"], ["-"], ["=1"], ["a b=1"]],
    ids=["short-flag", "positional", "lone-double-dash", "lone-dash", "no-name", "name-with-space"],
)
def test_parse_argv_params_ignores_what_is_not_a_param(args: list[str]) -> None:
    assert argv("train.py", *args) == {}


def test_parse_argv_params_skips_the_interpreter_argument() -> None:
    assert parse_argv_params(["lr=0.1"]) == {}


def test_parse_argv_params_last_occurrence_wins() -> None:
    assert argv("train.py", "--lr", "0.1", "--lr=0.2") == {"lr": 0.2}


# to_row / from_row


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        0,
        -7,
        2**63 + 1,
        10**30,
        0.1,
        -0.0,
        1e-300,
        1.7976931348623157e308,
        math.inf,
        -math.inf,
        None,
        "",
        "resnet",
        "3",
        "true",
        "null",
        "ünïcødé ✓",
        [],
        [1, 2.5, "x", None, True],
        {},
        {"b": 1, "a": [1, {"c": None}]},
    ],
    ids=[
        "true",
        "false",
        "zero",
        "negative-int",
        "past-int64",
        "past-float-precision",
        "float",
        "negative-zero",
        "tiny-float",
        "max-float",
        "inf",
        "-inf",
        "none",
        "empty-string",
        "string",
        "numeric-string",
        "bool-like-string",
        "null-like-string",
        "unicode-string",
        "empty-list",
        "mixed-list",
        "empty-dict",
        "nested-dict",
    ],
)
def test_to_row_from_row_round_trips_exactly(value: ParamValue) -> None:
    row = to_row(value)

    decoded = from_row(row.kind, row.text)

    assert decoded == value
    assert type(decoded) is type(value)
    if isinstance(value, float) and isinstance(decoded, float):
        assert math.copysign(1.0, decoded) == math.copysign(1.0, value)


def test_to_row_from_row_round_trips_nan() -> None:
    row = to_row(math.nan)

    decoded = from_row(row.kind, row.text)

    assert isinstance(decoded, float)
    assert math.isnan(decoded)


@pytest.mark.parametrize(
    ("value", "kind", "num"),
    [
        (True, "bool", None),
        (3, "int", 3.0),
        (0.5, "float", 0.5),
        (math.nan, "float", None),
        (None, "null", None),
        ("3", "str", None),
        ([3], "json", None),
    ],
    ids=["bool", "int", "float", "nan", "none", "string", "list"],
)
def test_to_row_keeps_numbers_comparable_and_text_not(
    value: ParamValue, kind: str, num: float | None
) -> None:
    row = to_row(value)

    assert (row.kind, row.num) == (kind, num)


# merge_params


def test_merge_params_later_groups_override_earlier_ones() -> None:
    file = params_from({"lr": 0.1, "epochs": 3}, "params.yaml")
    cli = params_from({"lr": 0.2}, "argv")

    merged = merge_params([file, cli])

    assert merged == [Param("lr", 0.2, "argv"), Param("epochs", 3, "params.yaml")]


def test_merge_params_later_param_in_one_group_wins() -> None:
    group = [Param("lr", 0.1, "a"), Param("lr", 0.3, "b")]

    assert merge_params([group]) == [Param("lr", 0.3, "b")]


def test_merge_params_keeps_keys_only_earlier_groups_have() -> None:
    merged = merge_params([params_from({"a": 1}, "x"), [], params_from({"b": 2}, "y")])

    assert merged == [Param("a", 1, "x"), Param("b", 2, "y")]


def test_params_from_tags_each_value_with_its_source() -> None:
    assert params_from({"a": 1, "b": None}, "argv") == [Param("a", 1, "argv"), Param("b", None, "argv")]


# parse_argv_params: only the user's program's arguments, redacted as the command line is


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["python", "-u", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["python3.11", "-W", "ignore", "-X", "dev", "train.py", "--lr=0.1"], {"lr": 0.1}),
        (["/venv/bin/python", "-Wignore", "-OO", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["python", "-m", "src.train", "--lr", "0.1"], {"lr": 0.1}),
        (["python", "-um", "src.train", "--lr", "0.1"], {"lr": 0.1}),
        (["python", "-msrc.train", "--lr", "0.1"], {"lr": 0.1}),
        (["torchrun", "--nproc_per_node", "2", "--nnodes=1", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["torchrun", "--standalone", "--nproc-per-node=2", "-m", "pkg.train", "--lr", "0.1"], {"lr": 0.1}),
        (
            ["python", "-m", "torch.distributed.run", "--nproc_per_node", "2", "train.py", "--lr", "0.1"],
            {"lr": 0.1},
        ),
        (
            [
                "accelerate",
                "launch",
                "--num_processes",
                "2",
                "--mixed_precision",
                "fp16",
                "train.py",
                "--lr",
                "0.1",
            ],
            {"lr": 0.1},
        ),
        (["accelerate", "launch", "--config_file", "cfg.yaml", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["deepspeed", "--num_gpus", "2", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["uv", "run", "--with", "torch", "python", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["uv", "run", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["conda", "run", "-n", "ml", "python", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["srun", "-N", "1", "--ntasks", "2", "python", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["mpirun", "-np", "4", "python", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["env", "OMP_NUM_THREADS=1", "python", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["timeout", "1h", "python", "train.py", "--lr", "0.1"], {"lr": 0.1}),
        (["nohup", "python", "train.py", "lr=0.1"], {"lr": 0.1}),
        (["bash", "-x", "train.sh", "--lr", "0.1"], {"lr": 0.1}),
        (["./train.sh", "--lr", "0.1"], {"lr": 0.1}),
        (["/home/me/project/train.py", "--lr", "0.1"], {"lr": 0.1}),
    ],
    ids=[
        "python-flag",
        "python-valued-flags",
        "python-attached-flags",
        "module",
        "module-in-flag-cluster",
        "module-attached",
        "torchrun",
        "torchrun-module",
        "torch-distributed-run",
        "accelerate-launch",
        "accelerate-config-file",
        "deepspeed",
        "uv-run-python",
        "uv-run-script",
        "conda-run",
        "srun",
        "mpirun",
        "env",
        "timeout",
        "nohup-hydra",
        "bash-script",
        "executable-script",
        "sys-argv-of-the-api",
    ],
)
def test_parse_argv_params_reads_only_the_users_program(
    command: list[str], expected: dict[str, ParamValue]
) -> None:
    assert parse_argv_params(command) == expected


@pytest.mark.parametrize(
    "command",
    [
        ["dvc", "repro", "--no-run-cache"],
        ["dvc", "exp", "run", "--queue"],
        ["make", "train", "EPOCHS=3"],
        ["python", "-c", "import train", "--lr", "0.1"],
        ["bash", "-c", "python train.py --lr 0.1"],
        ["python", "--version"],
        ["python"],
        ["torchrun", "--nproc_per_node", "2"],
        [".venv/bin/dvc", "repro", "--force"],
        [],
    ],
    ids=[
        "dvc-repro",
        "dvc-queue",
        "make",
        "python-inline",
        "shell-inline",
        "interpreter-only",
        "repl",
        "launcher-without-script",
        "tool-by-path",
        "empty",
    ],
)
def test_parse_argv_params_takes_no_flags_of_tools_or_inline_code(command: list[str]) -> None:
    assert parse_argv_params(command) == {}


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["--api-key", "sk-proj-abc123def456ghi789jkl"], "api_key"),
        (["--api-key=sk-proj-abc123def456ghi789jkl"], "api_key"),
        (["--password", "hunter2"], "password"),
        (["--token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"], "token"),
        (["--hf-token", "hf_abcdefghijklmnopqrstuvwxyz0123"], "hf_token"),
        (["db_password=hunter2"], "db_password"),
        (["--openai", "sk-proj-abc123def456ghi789jkl"], "openai"),
    ],
    ids=[
        "option-space",
        "option-equals",
        "password",
        "token-equals",
        "hf-token",
        "assignment",
        "token-format",
    ],
)
def test_parse_argv_params_masks_what_the_command_line_masks(args: list[str], key: str) -> None:
    from ledger.core.redact import MASK

    params = parse_argv_params(["python", "train.py", "--lr", "0.1", *args])

    assert params == {"lr": 0.1, key: MASK}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["dvc", "exp", "run", "-S", "train.lr=0.1"], {"train.lr": 0.1}),
        (
            ["dvc", "exp", "run", "--queue", "-S", "params.yaml:train.lr=0.1", "-S", "epochs=3"],
            {"train.lr": 0.1, "epochs": 3},
        ),
        (
            ["dvc", "exp", "run", "--set-param=model.max-depth=4", "-Sseed=7"],
            {"model.max-depth": 4, "seed": 7},
        ),
        (["dvc", "exp", "run", "-S", "db_password=hunter2"], {"db_password": "***"}),
        (["dvc", "repro", "-S", "lr=0.1"], {}),
    ],
    ids=["set-param", "file-prefix-and-queue", "attached-forms", "secret", "not-exp-run"],
)
def test_parse_argv_params_reads_the_params_dvc_exp_run_sets(
    command: list[str], expected: dict[str, ParamValue]
) -> None:
    assert parse_argv_params(command) == expected


def test_parse_argv_params_masks_a_urls_password_and_keeps_the_rest() -> None:
    params = parse_argv_params(["python", "train.py", "--db", "postgresql://me:s3cret@db:5432/runs"])

    assert params == {"db": "postgresql://me:***@db:5432/runs"}


def test_parse_argv_params_keeps_values_that_only_look_secret_by_name() -> None:
    # `--max-tokens` and `--token-file` are not secrets (`redact.is_secret_name`).
    params = parse_argv_params(["python", "train.py", "--max-tokens", "512", "--token-file", "tok.txt"])

    assert params == {"max_tokens": 512, "token_file": "tok.txt"}
