"""`[tool.ledger]` settings from the repository's pyproject.toml, overridable by env vars."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ledger.core.errors import ConfigError
from ledger.core.log_patterns import compile_patterns

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

DEFAULT_DENY = (
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".pypirc",
    ".git-credentials",
    "credentials.json",
    "*.keystore",
)
"""Files that are never put in a snapshot ref: they usually hold secrets."""


CHECK_MODES = ("warn", "block", "off")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a user can tune; every field has a default that suits most repos."""

    url: str | None = None
    """SQLAlchemy URL of the ledger; default: SQLite in the git common dir."""
    params_files: tuple[str, ...] = ("params.yaml",)
    """Params files read on capture, besides those `dvc.yaml` declares."""
    metrics_files: tuple[str, ...] = (
        "metrics.json",
        "metrics.yaml",
        "dvclive/metrics.json",
    )
    """Metrics files read after a run, besides those `dvc.yaml` declares."""
    framework_logs: tuple[str, ...] = (
        "metrics.csv",
        "events.out.tfevents.*",
        "trainer_state.json",
        "all_results.json",
        "eval_results.json",
        "train_results.json",
        "training.log",
        "training.csv",
        "history.csv",
    )
    """Logs training frameworks write, read after a run when it wrote them, as
    `.gitignore` patterns (`metrics.csv` at any depth): CSV loggers with a `step` or
    `epoch` column, TensorBoard event files, the Trainer's state and results (JSON)."""
    outputs: tuple[str, ...] = (
        "checkpoints/",
        "models/",
        "outputs/",
        "*.pt",
        "*.pth",
        "*.ckpt",
        "*.safetensors",
    )
    """Files a run may write that git ignores, as `.gitignore` patterns (`*.ckpt` at any
    depth, `checkpoints/` a folder anywhere); hashed when the run wrote them."""
    snapshot_deny: tuple[str, ...] = DEFAULT_DENY
    snapshot_max_file_bytes: int = 2 * 1024 * 1024
    """Files bigger than this are left out of the snapshot (and the record says so)."""
    snapshot_max_total_bytes: int = 100 * 1024 * 1024
    env_allow: tuple[str, ...] = ()
    """Extra environment variable names or globs to capture (secrets are still refused)."""
    log_max_bytes: int = 8 * 1024 * 1024
    """Log bytes kept per run: the first and last halves, the middle dropped."""
    argv_params: bool = True
    """Record `--key value` and `key=value` arguments of the command as params."""
    log_metrics: bool = True
    """Read `key: value` and `key=value` numbers the run printed as metric series."""
    log_metric_patterns: tuple[str, ...] = ()
    """Regular expressions that replace the built-in ones (`ledger.capture.log_scalars`)."""
    flush_interval: float = 2.0
    """Seconds between background flushes of logged metrics."""
    flush_wait: float = 10.0
    """Seconds an explicit `flush()` of the Python API waits for the ledger before it
    leaves the points to the spool and the training goes on."""
    end_wait: float = 5.0
    """Seconds the end of a run waits, in the training process, for the ledger to take
    its record (it is in the spool already: what the ledger does not take waits there)."""
    delivery_wait: float = 15.0
    """Seconds `ledger run` gives a ledger server to take a run's end once the command has
    ended: long enough for a big run's points on a slow server, short enough that a server
    that stopped answering does not hold a pipeline; what it does not take waits in the spool."""
    result_patterns: tuple[str, ...] = ("dvc.lock", "**/dvc.lock", "*.dvc", "**/*.dvc")
    """Besides params and metrics files: paths whose change makes a commit carry results.

    Git `:(glob)` pathspecs anchored at the repository root: `*` stays within a folder,
    `**/` spans any number of folders.
    """
    trailer: bool = True
    """Add `Ledger-Run: <id>` trailers to commits that hold a run's code and results."""
    check_results: str = "warn"
    """pre-commit stage: `warn`, `block` or `off` when staged results come from other code."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Keys this version does not know, kept for commands that do (later issues)."""


def load_config(toplevel: Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read `[tool.ledger]`, then apply `LEDGER_<FIELD>` environment overrides."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if toplevel is not None:
        raw = _read_pyproject(toplevel / "pyproject.toml")
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    known = {f.name: f for f in fields(Config) if f.name != "extra"}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name in known:
            values[name] = _coerce(name, value, known[name].type, "pyproject.toml")
        else:
            extra[name] = value
    for name, f in known.items():
        env_value = env.get(f"LEDGER_{name.upper()}")
        if env_value is not None:
            values[name] = _coerce(name, env_value, f.type, "environment")
    if values.get("check_results", "warn") not in CHECK_MODES:
        raise ConfigError(
            f"ledger setting 'check_results': expected one of {', '.join(CHECK_MODES)}, "
            f"got {values['check_results']!r}"
        )
    return dataclasses.replace(Config(), **values, extra=extra)


def _read_pyproject(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            import tomllib  # here: a project without a pyproject.toml never loads the parser

            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (ValueError, OSError) as e:  # tomllib.TOMLDecodeError is a ValueError
        raise ConfigError(f"{path}: cannot read it: {e}") from e
    tool = data.get("tool", {})
    section = tool.get("ledger", {}) if isinstance(tool, dict) else None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.ledger] must be a table")
    return section


def _positive(value: Any, *, whole: bool, where: str) -> int | float:
    """A finite number: whole and >= 0 for byte counts, above zero for intervals."""
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if whole:
        if not math.isfinite(number) or number < 0 or not number.is_integer():
            raise ConfigError(f"{where}: expected a whole number, 0 or more, got {value!r}")
        return int(number)
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{where}: expected a number above zero, got {value!r}")
    return number


def _coerce(name: str, value: Any, annotation: Any, origin: str) -> Any:
    """Check one setting against its field type; strings from env vars are parsed."""
    kind = str(annotation)
    where = f"{origin}: ledger setting '{name}'"
    if kind.startswith("tuple"):
        if isinstance(value, str):
            items = tuple(p.strip() for p in value.split(",") if p.strip())
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = tuple(value)
        else:
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        if name == "log_metric_patterns" and items:
            try:
                compile_patterns(items)
            except ValueError as e:
                raise ConfigError(f"{where}: {e}") from e
        return items
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "0", "false", "no"}:
            return value.lower() in {"1", "true", "yes"}
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if kind in {"int", "float"}:
        return _positive(value, whole=kind == "int", where=where)
    if isinstance(value, str):
        return value
    raise ConfigError(f"{where}: expected a string, got {value!r}")
