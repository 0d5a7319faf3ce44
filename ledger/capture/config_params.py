"""Params from the config files a run used, not only from its command line.

Two kinds: the YAML/JSON file the command line names (`--config cfg.yaml`), read
before the run like `params.yaml` (it is an input), and the files a framework writes
into the run's own folder, read after it: Hydra's composed config, Lightning's
`hparams.yaml`, a `training_args.json`. Without them a Hydra project's first run had
no learning rate (it came only from the composed config), and a `--config` script
recorded the file's path and nothing of what it said.

A Hugging Face Trainer's `training_args.bin` is a torch pickle: unpickling runs code,
so it is never read; only a JSON copy of the arguments is.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ledger.capture.params import params_from, read_params_file
from ledger.core.commandline import find_program
from ledger.core.redact import MASK, is_secret_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.core.param_values import ParamValue
    from ledger.core.records import Param

SOURCE_MAX = 255
"""Characters of a param's source the params table holds."""

CONFIG_FLAGS = ("--config", "-c", "--cfg", "--config-file", "--config_file")
"""Flags whose value names the config file the script reads."""

CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
"""A flag's value is a config file only with one of these: `-c 4` may be anything."""

HYDRA_CONFIG = ".hydra/config.yaml"
HYDRA_OVERRIDES = ".hydra/overrides.yaml"
_REFERENCE = re.compile(r"\$\{([A-Za-z_][\w.]*)\}")
"""An OmegaConf interpolation that is the whole value and names a key: `${model.lr}`."""

FOLDER_CONFIGS = (HYDRA_CONFIG, "hparams.yaml", "training_args.json")
"""Files frameworks write into a run's folder that say what the run was configured with:
Hydra's composed config, Lightning's hyperparameters, Trainer arguments saved as JSON."""


def named_config_files(argv: Sequence[str]) -> list[str]:
    """The config files the user's program is given with `--config`, `-c`, `--cfg`...,
    as spelled on the command line (relative to the run's working folder)."""
    program = find_program(argv)
    args = () if program is None else program.args
    found: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            break
        flag, eq, value = arg.partition("=")
        if flag not in CONFIG_FLAGS:
            continue
        if not eq:
            if i + 1 >= len(args):
                continue
            value = args[i + 1]
        if value.lower().endswith(CONFIG_SUFFIXES):
            found.append(value)
    return list(dict.fromkeys(found))


def read_named_configs(argv: Sequence[str], *, cwd: Path, root: Path, errors: list[str]) -> list[Param]:
    """The params of every config file the command line names, flattened like
    `params.yaml`; each is tagged with the file (repo-relative when inside the repo).

    A missing or malformed file is a capture problem: the run still runs and is recorded.
    """
    params: list[Param] = []
    for name in named_config_files(argv):
        path = cwd / name
        source = _label(path, root, name)
        if not path.is_file():
            errors.append(f"{source}: config file named on the command line was not found")
            continue
        params += read_config(path, source, errors)
    return params


def read_config(path: Path, source: str, errors: list[str]) -> list[Param]:
    """One config file's params; a broken file is a problem line naming it, not a crash.

    A source longer than the params table holds (a Hydra sweep's folder named after its
    overrides) keeps its end, which is what tells the files apart.
    """
    if len(source) > SOURCE_MAX:
        source = f"...{source[-(SOURCE_MAX - 3) :]}"
    try:
        values = read_params_file(path)
    except ValueError as e:
        text = str(e)
        errors.append(
            text.replace(path.name, source, 1) if text.startswith(path.name) else f"{source}: {text}"
        )
        return []
    except OSError as e:
        errors.append(f"{source}: cannot read it: {e.strerror or e}")
        return []
    return params_from({key: _masked(key, value) for key, value in _resolved(values).items()}, source)


def _resolved(values: dict[str, ParamValue]) -> dict[str, ParamValue]:
    """Whole-value references to another key of the same file (`lr: ${optimizer.lr}`,
    as Hydra saves its config unresolved) take that key's value; others stay as written."""
    resolved = dict(values)
    for key, value in values.items():
        seen = {key}
        while isinstance(value, str) and (ref := _REFERENCE.fullmatch(value)) and ref[1] in values:
            if ref[1] in seen:
                break
            seen.add(ref[1])
            value = values[ref[1]]
        resolved[key] = value
    return resolved


def _masked(key: str, value: ParamValue) -> ParamValue:
    """A config may hold a token (`hub_token`, `wandb.api_key`): never stored."""
    if isinstance(value, str) and value and is_secret_name(key.rpartition(".")[2]):
        return MASK
    return value


CONFIG_NAMES = frozenset(PurePosixPath(c).name for c in FOLDER_CONFIGS)
"""File names of `FOLDER_CONFIGS`: a folder's listing is checked against these first."""


def is_folder_config(path: str) -> bool:
    """A repo-relative path one of `FOLDER_CONFIGS` names (at any depth)."""
    posix = PurePosixPath(path)
    if posix.name not in CONFIG_NAMES:
        return False
    return posix.name != "config.yaml" or posix.parent.name == ".hydra"


def _label(path: Path, root: Path, name: str) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return name
