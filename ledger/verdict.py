"""Whether a reproduction matched: per-metric tolerances, comparisons, the verdict table.

Standard library only: `ledger show` renders stored verdicts without loading anything else.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.errors import ConfigError, LedgerError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

EXIT_CODE_KEY = "(exit code)"
"""The verdict row comparing how the two commands ended (parentheses keep it apart from metrics)."""


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


@dataclass(frozen=True, slots=True)
class Check:
    """One row of a verdict: a metric (or the exit code) in both runs."""

    key: str
    original: float | None
    """None when the original run has no such metric."""
    reproduced: float | None
    tolerance: Tolerance
    ok: bool

    @property
    def delta(self) -> float | None:
        """Reproduced minus original; None if either is missing, NaN when they are not comparable."""
        if self.original is None or self.reproduced is None:
            return None
        if math.isnan(self.original) and math.isnan(self.reproduced):
            return 0.0
        if self.original == self.reproduced:
            return 0.0  # inf - inf would be NaN
        return self.reproduced - self.original


@dataclass(frozen=True, slots=True)
class ReproductionLink:
    """A stored reproduction: the new run, the run it reproduced, and the verdict."""

    run_id: str
    original_id: str
    matched: bool | None
    """None while the reproduction is still running (or if it died before the verdict)."""
    created_at: float
    checks: tuple[Check, ...] = ()


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


def compare(
    original: Mapping[str, float],
    reproduced: Mapping[str, float],
    *,
    tolerances: Mapping[str, Tolerance],
    exit_codes: tuple[int | None, int | None],
) -> tuple[Check, ...]:
    """Compare every metric either run has, then how the commands ended (which must agree)."""
    checks = []
    for key in sorted(set(original) | set(reproduced)):
        tolerance = tolerance_for(key, tolerances)
        old, new = original.get(key), reproduced.get(key)
        checks.append(Check(key, old, new, tolerance, tolerance.allows(old, new)))
    old_exit, new_exit = (None if c is None else float(c) for c in exit_codes)
    checks.append(Check(EXIT_CODE_KEY, old_exit, new_exit, EXACT, old_exit == new_exit))
    return tuple(checks)


def matched(checks: Iterable[Check]) -> bool:
    """Every row within tolerance."""
    return all(c.ok for c in checks)


def verdict_table(checks: Iterable[Check]) -> str:
    """The table `ledger reproduce` prints: metric, original, reproduced, delta, tolerance, ok."""
    headers = ["METRIC", "ORIGINAL", "REPRODUCED", "DELTA", "TOLERANCE", "OK"]
    rows = [
        [
            c.key,
            _number(c.original),
            _number(c.reproduced),
            _delta(c),
            str(c.tolerance),
            "ok" if c.ok else "DIFFERS" if c.original is not None and c.reproduced is not None else "MISSING",
        ]
        for c in checks
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [headers, *rows]
    left = (0, 4, 5)  # text columns; numbers are right-aligned so their digits line up
    return "\n".join(
        "  ".join(
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    )


def summary(checks: Iterable[Check]) -> str:
    """One line: `matched: 6 metrics equal` or which rows differ."""
    rows = list(checks)
    bad = [c for c in rows if not c.ok]
    metrics = sum(c.key != EXIT_CODE_KEY for c in rows)
    if not bad:
        return f"matched: {metrics} metric{'s' * (metrics != 1)} within tolerance, same exit code"
    names = ", ".join(_why(c) for c in bad)
    return f"did not match: {names}"


def outputs_line(original: Mapping[str, str | None], reproduced: Mapping[str, str | None]) -> str | None:
    """How the files both runs wrote compare (a hint, not part of the verdict: a log or a
    lock file may differ while every result is the same). None when they share none."""
    common = sorted(p for p in set(original) & set(reproduced) if original[p] and reproduced[p])
    if not common:
        return None
    differ = [p for p in common if original[p] != reproduced[p]]
    same = len(common) - len(differ)
    line = f"outputs: {same} of {len(common)} written by both runs are identical"
    return line + (f"; differ: {', '.join(differ)}" if differ else "")


def checks_to_json(checks: Iterable[Check]) -> str:
    """The `reproductions.verdict` column: a JSON list; NaN and infinities as strings."""
    return json.dumps(
        [
            {
                "key": c.key,
                "original": _encode(c.original),
                "reproduced": _encode(c.reproduced),
                "delta": _encode(c.delta),
                "abs": c.tolerance.abs,
                "rel": c.tolerance.rel,
                "ok": c.ok,
            }
            for c in checks
        ]
    )


def checks_from_json(text: str | None) -> tuple[Check, ...]:
    """Read what `checks_to_json` wrote; an unreadable verdict reads as no rows."""
    try:
        items = json.loads(text or "[]")
        return tuple(
            Check(
                key=str(item["key"]),
                original=_decode(item["original"]),
                reproduced=_decode(item["reproduced"]),
                tolerance=Tolerance(float(item.get("abs", 0.0)), float(item.get("rel", 0.0))),
                ok=bool(item["ok"]),
            )
            for item in items
        )
    except (ValueError, TypeError, KeyError):
        return ()


def render_links(
    reproduces: ReproductionLink | None,
    reproduced_by: Iterable[ReproductionLink],
    *,
    short: Mapping[str, str] | None = None,
) -> list[str]:
    """The `reproduction` section of `ledger show`: which run this one reproduces, and
    which runs reproduced it, each with its verdict. Empty when there is neither."""
    names = short or {}
    lines: list[str] = []
    if reproduces is not None:
        original = names.get(reproduces.original_id, reproduces.original_id[:12])
        lines.append(f"  {'reproduces':<16} {original}: {_state(reproduces)}")
        if reproduces.checks:
            lines += [f"    {line}" for line in verdict_table(reproduces.checks).splitlines()]
    for link in reproduced_by:
        run = names.get(link.run_id, link.run_id[:12])
        lines.append(f"  {'reproduced by':<16} {run}: {_state(link)}")
    return ["", "reproduction", *lines] if lines else []


def _state(link: ReproductionLink) -> str:
    if link.matched is None:
        return "no verdict (still running, or stopped before the end)"
    return summary(link.checks) if link.checks else ("matched" if link.matched else "did not match")


def _why(check: Check) -> str:
    if check.original is None:
        return f"{check.key} (not in the original)"
    if check.reproduced is None:
        return f"{check.key} (missing)"
    return f"{check.key} (delta {_delta(check)})"


def _tolerance(numbers: list[float], *, where: str) -> Tolerance:
    if any(not math.isfinite(n) or n < 0 for n in numbers):
        raise ConfigError(f"{where}: tolerances must be finite and 0 or more")
    return Tolerance(numbers[0], numbers[1] if len(numbers) > 1 else 0.0)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _delta(check: Check) -> str:
    delta = check.delta
    if delta is None:
        return "-"
    if delta == 0:
        return "0"
    return f"{delta:+.3g}"


def _encode(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _decode(value: object) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, int | float | str) else None
