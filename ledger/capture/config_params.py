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

import os
import re
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, cast

from ledger.capture.params import params_from, read_params_file
from ledger.core.commandline import find_program
from ledger.core.redact import MASK, is_secret_name, known_secrets, redact_text

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
    resolved = _resolved(values, path, source)
    return params_from({key: _masked(key, value) for key, value in resolved.items()}, source)


def _resolved(values: dict[str, ParamValue], path: Path, source: str) -> dict[str, ParamValue]:
    """The values with the interpolations OmegaConf would resolve, where that can be
    done without it: Hydra saves its composed config unresolved (`lr: ${optimizer.lr}`).

    Read: another key of the same file (`${model.lr}`, also inside text:
    `${paths.root}/data`); `${oc.env:NAME}` and `${oc.env:NAME,default}` from the
    environment the run was started in (the ledger's own, which the run inherited; a
    secret-looking name is never read, and the value goes through the redaction every
    param does); `${hydra:runtime.output_dir}` and other `${hydra:...}` from the
    `.hydra/hydra.yaml` beside the config, an absolute path inside the repository made
    repo-relative like the run's folders. Anything else (`${now:...}`, a variable the
    script set itself, a cycle, a malformed or nested interpolation) keeps its text: a
    value is resolved whole or not at all, never partly.
    """
    if not any(isinstance(v, str) and "${" in v for v in values.values()):
        return values
    environ = os.environ
    known = cache(lambda: known_secrets((), environ))  # each read on first use only
    hydra = cache(lambda: _hydra_settings(path))
    resolved: dict[str, ParamValue] = {}
    kept: set[str] = set()

    def lookup(expression: str, stack: tuple[str, ...]) -> ParamValue:
        kind, colon, argument = expression.partition(":")
        if not colon:
            if expression not in values or expression in stack:
                raise _UnresolvableError
            return value_of(expression, stack)
        if kind == "oc.env":
            name, comma, default = argument.partition(",")
            name = name.strip()
            if not _ENV_NAME.fullmatch(name) or is_secret_name(name, strict=True):
                raise _UnresolvableError
            if name in environ:
                return redact_text(environ[name], known())
            if not comma or "${" in default:
                raise _UnresolvableError
            default = default.strip()
            return None if default == "null" else default.strip("'\"")
        if kind == "hydra":
            found: object = hydra()
            for part in argument.strip().split("."):
                if not isinstance(found, dict) or part not in found:
                    raise _UnresolvableError
                found = found[part]
            if isinstance(found, (dict, list)) or (isinstance(found, str) and "${" in found):
                raise _UnresolvableError
            return (
                _repo_relative(found, path, source) if isinstance(found, str) else cast("ParamValue", found)
            )
        raise _UnresolvableError

    def value_of(key: str, stack: tuple[str, ...]) -> ParamValue:
        if key in resolved:
            return resolved[key]
        if key in kept or len(stack) > _MAX_DEPTH:
            raise _UnresolvableError
        value = values[key]
        if isinstance(value, str) and "${" in value:
            if "\\${" in value:
                raise _UnresolvableError  # an escaped one: OmegaConf's text, not ours to rewrite
            stack = (*stack, key)
            whole = _INTERPOLATION.fullmatch(value)
            if whole is not None:
                value = lookup(whole[1], stack)
            else:
                value = _INTERPOLATION.sub(lambda m: _text(lookup(m[1], stack)), value)
                if "${" in value:
                    raise _UnresolvableError
        resolved[key] = value
        return value

    out: dict[str, ParamValue] = {}
    for key, value in values.items():
        try:
            out[key] = value_of(key, ())
        except _UnresolvableError:
            kept.add(key)
            out[key] = value
    return out


class _UnresolvableError(Exception):
    """An interpolation that is kept as text."""


_INTERPOLATION = re.compile(r"\$\{([^${}]*)\}")
"""One OmegaConf interpolation with nothing nested in it."""
_MAX_DEPTH = 100
"""References followed from one value before it is kept as text."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _text(value: ParamValue) -> str:
    """A value as OmegaConf puts it inside text."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "None"
    return str(value)


def _hydra_settings(path: Path) -> dict[str, object] | None:
    """What `.hydra/hydra.yaml` beside Hydra's composed config says under `hydra:`."""
    if path.name != "config.yaml" or path.parent.name != ".hydra":
        return None
    from ledger.capture.params import load_document

    try:
        data = load_document("hydra.yaml", (path.parent / "hydra.yaml").read_bytes())
    except (OSError, ValueError):
        return None
    settings = data.get("hydra") if isinstance(data, dict) else None
    return settings if isinstance(settings, dict) else None


def _repository(path: Path, source: str) -> Path | None:
    """The repository's folder, when `source` is `path` relative to it."""
    parts = PurePosixPath(source).parts
    if not parts or ".." in parts or source.startswith(("/", "...")) or path.parts[-len(parts) :] != parts:
        return None
    return path.parents[len(parts) - 1]


def _repo_relative(value: str, path: Path, source: str) -> str:
    """An absolute path inside the repository as the ledger names files: relative to it."""
    repo = _repository(path, source)
    if repo is None or not Path(value).is_absolute():
        return value
    try:
        return Path(value).resolve().relative_to(repo.resolve()).as_posix()
    except (ValueError, OSError):
        return value


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
