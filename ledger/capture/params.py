"""Params: read from files and argv, flattened to `a.b.c` keys with exact types."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from ledger.capture.caps import MAX_FILE_BYTES, check_document
from ledger.core.commandline import dvc_set_params, find_program
from ledger.core.records import Param
from ledger.core.redact import redact_argv, redact_param

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

    from ledger.core.param_values import ParamValue

_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)(e[-+]?[0-9]+)?|[-+]?(inf|infinity)|nan")


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, ParamValue]:
    """Nested mappings become dotted keys; lists stay whole values (their order matters)."""
    flat: dict[str, ParamValue] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def read_params_file(path: Path) -> dict[str, ParamValue]:
    """Read a YAML, JSON or TOML params file (by suffix; YAML otherwise).

    Raises:
        ValueError: with a one-line reason when the file is not valid or not a mapping.
    """
    return parse_params(path.name, path.read_bytes())


def parse_params(name: str, raw: bytes) -> dict[str, ParamValue]:
    """`read_params_file` on bytes (a file's content, or a git blob for history).

    Raises:
        ValueError: with a one-line reason naming the file.
    """
    data = load_document(name, raw)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected a mapping of params, got {type(data).__name__}")
    return flatten(data)


def load_document(name: str, raw: bytes) -> Any:
    """Parse by suffix: JSON (NaN allowed), TOML, else YAML 1.2 as DVC reads it.

    Raises:
        ValueError: one line naming the file.
    """
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"{name}: {len(raw):,} bytes, over the {MAX_FILE_BYTES:,} a file may have; not read")
    suffix = PurePosixPath(name).suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(raw)
        elif suffix == ".toml":
            import tomllib  # only TOML params files need the parser (`ledger list` does not)

            data = tomllib.loads(raw.decode())
        else:
            data = _load_yaml(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{name}: not valid {suffix.lstrip('.') or 'yaml'}: {_one_line(e)}") from e
    except RecursionError as e:
        raise ValueError(f"{name}: nested too deep to read; not read") from e
    check_document(name, data)
    return data


def parse_argv_params(argv: Sequence[str]) -> dict[str, ParamValue]:
    """Params the user's script was given: `--lr 0.01`, `--lr=0.01`, `lr=0.01`.

    Only the arguments of the user's own script or module count
    (`ledger.core.commandline`): an interpreter's, a launcher's or a tool's flags are not
    params, except the `-S key=value` of `dvc exp run`. A value the recorded command line masks (`--api-key`, a URL's password) is
    masked here too, by the same `redact_argv`. A flag with no value is `True`; values
    are typed like YAML scalars, so `--epochs 3` compares as a number.
    """
    redacted = redact_argv(argv)
    params: dict[str, ParamValue] = {}
    for setting in dvc_set_params(redacted):
        name, _, value = setting.partition("=")
        params[name.strip()] = parse_scalar(value)  # spelled as in the params file
    program = find_program(redacted)
    args = () if program is None else program.args
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg[2:].partition("=")
            if not eq:
                if i < len(args) and not args[i].startswith("--") and not _is_assignment(args[i]):
                    value = args[i]
                    i += 1
                else:
                    params[_key(name)] = True
                    continue
            params[_key(name)] = parse_scalar(value)
        elif _is_assignment(arg):
            name, _, value = arg.partition("=")
            params[_key(name.lstrip("+~"))] = parse_scalar(value)
    return params


def parse_scalar(text: str) -> ParamValue:
    """Type a command-line value as a Python CLI would read it: `1e-3` and `010` are numbers.

    `true`/`false` and `null`/`none` (any case) are typed too; everything else stays text.
    """
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    if _INT.fullmatch(lowered):
        return int(lowered, 10)
    if _FLOAT.fullmatch(lowered):
        return float(lowered)
    return text


def params_from(values: Mapping[str, ParamValue], source: str) -> list[Param]:
    """Wrap plain values as records tagged with their source, secrets masked: every
    param (files, command line, API, history) is made here, before it is kept anywhere."""
    return [Param(key=k, value=redact_param(k, v), source=source) for k, v in values.items()]


def read_params_at(root: Path, name: str, errors: list[str]) -> list[Param]:
    """One params file's values; a missing file has none, a broken one is a problem line."""
    path = root / name
    if not path.is_file():
        return []
    try:
        return params_from(read_params_file(path), name)
    except ValueError as e:
        errors.append(str(e) if str(e).startswith(name) else f"{name}: {e}")
        return []


def merge_params(groups: Iterable[list[Param]]) -> list[Param]:
    """Later groups win: the command line overrides the file it configures."""
    merged: dict[str, Param] = {}
    for group in groups:
        for param in group:
            merged[param.key] = param
    return list(merged.values())


def _is_assignment(arg: str) -> bool:
    """`lr=0.1` or Hydra's `+model.depth=3`: a key made of name characters, then `=`."""
    name, eq, _ = arg.partition("=")
    name = name.lstrip("+~")
    return bool(eq) and bool(name) and name.replace(".", "").replace("_", "").replace("-", "").isalnum()


def _key(name: str) -> str:
    return name.strip().replace("-", "_")


def _load_yaml(raw: bytes) -> Any:
    import yaml  # PyYAML: only YAML files need it (`ledger list` reads none)

    from ledger.capture import yaml12

    try:
        return yaml12.load(raw)
    except yaml.YAMLError as e:
        raise ValueError(_one_line(e)) from e


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
