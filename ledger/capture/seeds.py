"""The seeds a run used, and how `ledger reproduce` hands them back to the script.

A run's seeds live in `runs.seeds` (JSON). `ledger run` records `PYTHONHASHSEED`;
a script records the seeds it chose with `log_seeds` (`ledger.torch.seed_everything`
does). A reproduction passes the recorded seeds to its command in `LEDGER_SEEDS`
(JSON), and the upper-case ones, which are environment variables, as themselves.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

SEEDS_ENV = "LEDGER_SEEDS"
"""JSON object of the original run's seeds, set for the command a reproduction runs."""

REPRODUCES_ENV = "LEDGER_REPRODUCES"
"""The ID of the run being reproduced, set for the command a reproduction runs."""

_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


RUNNER_SEEDS = ("PYTHONHASHSEED",)
"""Seeds `ledger run` sets for every command: they say nothing of whether the script seeded."""


SEEDS_UNREPORTED = "seeds unknown: its wrapper was killed, and no process of the run reported seeds"
"""The capture problem of a run whose processes never said which seeds they set: they
do as they exit, which a command killed with its wrapper never reaches, so "it set
none" would be a guess."""


def seeds_reported(capture_errors: Sequence[str]) -> bool:
    """Whether the run's processes reported their seeds (or, for older runs, were not known not to)."""
    return SEEDS_UNREPORTED not in capture_errors


def script_seeds(seeds: Mapping[str, object]) -> dict[str, object]:
    """The seeds the run itself set (or logged), without those `ledger run` sets for everyone."""
    return {k: v for k, v in seeds.items() if k not in RUNNER_SEEDS}


def describe_seeds(seeds: Mapping[str, object], *, reported: bool = True) -> str:
    """`torch.manual_seed=42, PYTHONHASHSEED=7`, or that the run set no seed of its own,
    or that no one can say (`reported` is False: its processes never told)."""
    listed = ", ".join(f"{k}={v}" for k, v in seeds.items())
    if script_seeds(seeds):
        return listed
    only = f" ({listed} only)" if listed else ""
    if not reported:
        return "unknown: no process of the run reported its seeds (its wrapper was killed)" + only
    return "no seed recorded: the run set none" + only


def reproduction_seeds() -> dict[str, object]:
    """The original run's seeds when this process runs under `ledger reproduce`, else `{}`."""
    try:
        seeds = json.loads(os.environ.get(SEEDS_ENV) or "{}")
    except ValueError:
        return {}
    return seeds if isinstance(seeds, dict) else {}


def seed_environment(seeds: Mapping[str, object]) -> dict[str, str]:
    """Environment variables that give a command the recorded seeds back."""
    env = {SEEDS_ENV: json.dumps(dict(seeds), sort_keys=True)} if seeds else {}
    env.update({k: str(v) for k, v in seeds.items() if _ENV_NAME.match(k)})
    return env
