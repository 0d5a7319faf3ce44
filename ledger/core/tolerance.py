"""How far a reproduced metric may be from the original: `--tolerance` and `[tool.ledger] tolerance`.

Standard library only: `ledger reproduce` and `ledger show` load it without anything else.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.core.errors import ConfigError, LedgerError

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a reproduced value may be from the original: within `abs`, or within `rel` of it."""

    abs: float = 0.0
    rel: float = 0.0

    def allows(self, original: float | None, reproduced: float | None) -> bool:
        """NaN equals NaN, an infinity only itself, a missing value nothing."""
        if original is None or reproduced is None:
            return False
        if math.isnan(original) or math.isnan(reproduced):
            return math.isnan(original) and math.isnan(reproduced)
        if original == reproduced:
            return True
        if math.isinf(original) or math.isinf(reproduced):
            return False
        return abs(reproduced - original) <= max(self.abs, self.rel * abs(original))

    def __str__(self) -> str:
        if not self.abs and not self.rel:
            return "exact"
        parts = [f"±{self.abs:g}"] if self.abs else []
        parts += [f"±{self.rel:g} rel"] if self.rel else []
        return " or ".join(parts)


EXACT = Tolerance()


def parse_tolerance(text: str) -> tuple[str, Tolerance]:
    """Read `KEY=ABS[,REL]` from the command line (KEY may be a glob such as `*loss`).

    Raises:
        LedgerError: the text is not of that form.
    """
    key, sep, value = text.partition("=")
    parts = value.split(",")
    if not sep or not key.strip() or len(parts) > 2:
        raise LedgerError(f"bad --tolerance {text!r}", hint="write KEY=ABS or KEY=ABS,REL, e.g. acc=0.001")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise LedgerError(f"bad --tolerance {text!r}: not a number", hint="e.g. acc=0.001,1e-6") from None
    return key.strip(), _tolerance(numbers, where=f"--tolerance {text!r}")


def tolerances_from_config(table: object) -> dict[str, Tolerance]:
    """Read `[tool.ledger] tolerance = {acc = 0.01, loss = [0, 1e-6]}`.

    Raises:
        ConfigError: the table or one of its values is malformed; the message names the key.
    """
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError("ledger setting 'tolerance': expected a table of metric = abs or [abs, rel]")
    found = {}
    for key, value in table.items():
        where = f"ledger setting 'tolerance.{key}'"
        numbers = value if isinstance(value, list) else [value]
        if not 1 <= len(numbers) <= 2 or not all(_is_number(n) for n in numbers):
            raise ConfigError(f"{where}: expected a number or [abs, rel], got {value!r}")
        found[str(key)] = _tolerance([float(n) for n in numbers], where=where)
    return found


def tolerance_for(key: str, tolerances: Mapping[str, Tolerance]) -> Tolerance:
    """The tolerance of a metric: its own entry, else the first glob matching it, else exact."""
    if key in tolerances:
        return tolerances[key]
    for pattern, tolerance in tolerances.items():
        if fnmatch.fnmatchcase(key, pattern):
            return tolerance
    return EXACT


def _tolerance(numbers: list[float], *, where: str) -> Tolerance:
    if any(not math.isfinite(n) or n < 0 for n in numbers):
        raise ConfigError(f"{where}: tolerances must be finite and 0 or more")
    return Tolerance(numbers[0], numbers[1] if len(numbers) > 1 else 0.0)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
