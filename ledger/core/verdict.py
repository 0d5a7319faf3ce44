"""Whether a reproduction matched, and on what evidence: metrics, the files both runs
wrote, and how the commands ended.

A verdict never rests on nothing: with no metric and no output to compare it is
"inconclusive", and outputs that differ with no metric to excuse them are a mismatch
(a checkpoint may differ in its timestamps while every result is the same; without a
metric nothing says so). Standard library only: `ledger show` renders stored verdicts
without loading anything else.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.core.tolerance import EXACT, Tolerance, tolerance_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

EXIT_CODE_KEY = "(exit code)"
"""The row comparing how the two commands ended (parentheses keep it apart from metrics)."""

MATCHED = "matched"
DID_NOT_MATCH = "did_not_match"
INCONCLUSIVE = "inconclusive"
COULD_NOT_RUN = "could_not_run"

NOT_EVIDENCE = ("*.log", ".hydra/hydra.yaml", "*/.hydra/hydra.yaml")
"""Files a run writes about itself rather than its results (log lines with their times,
Hydra's record of its own folder and clock): never compared."""

TIMINGS = ("*runtime", "*per_second")
"""Metric names (after the last `/` or `:`) that time the run rather than measure its result."""
TIMING = "a timing: give it a --tolerance to compare it"
PRINTED_ONCE = "printed by one run only"

EXIT_CODES: dict[str, int] = {MATCHED: 0, DID_NOT_MATCH: 1, INCONCLUSIVE: 4, COULD_NOT_RUN: 5}
"""`ledger reproduce`'s exit code for each outcome (documented in the README for CI)."""


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
class OutputCheck:
    """A file both runs wrote, by its content hash."""

    path: str
    original: str
    reproduced: str

    @property
    def identical(self) -> bool:
        """Same bytes."""
        return self.original == self.reproduced


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything compared between a run and its reproduction, and what it adds up to."""

    checks: tuple[Check, ...]
    """One row per metric either run has, then the exit code row."""
    outputs: tuple[OutputCheck, ...] = ()
    seeded: bool | None = None
    """Whether the original set its seeds; None when its record cannot say."""
    not_compared: tuple[tuple[str, str], ...] = ()
    """Metrics left out, each with why: a timing (`eval_runtime`, `train_samples_per_second`)
    measures the machine, not the result; a value printed by one run only (a progress
    bar's last frame) says nothing of either. A tolerance given for a timing compares it."""

    @property
    def metrics(self) -> tuple[Check, ...]:
        """The metric rows (without the exit code)."""
        return tuple(c for c in self.checks if c.key != EXIT_CODE_KEY)

    @property
    def outcome(self) -> str:
        """MATCHED, DID_NOT_MATCH or INCONCLUSIVE."""
        if not all(c.ok for c in self.checks):
            return DID_NOT_MATCH
        if self.metrics:
            return MATCHED
        if not self.outputs:
            return INCONCLUSIVE
        return MATCHED if all(o.identical for o in self.outputs) else DID_NOT_MATCH

    def summary(self) -> str:
        """One line: what matched, on what evidence, or what did not."""
        outcome = self.outcome
        metrics, outputs = self.metrics, self.outputs
        differ = [o.path for o in outputs if not o.identical]
        if outcome == INCONCLUSIVE:
            return "inconclusive: nothing to compare (no metrics, and no output file both runs wrote)"
        if outcome == MATCHED and metrics:
            line = f"matched: {_count(len(metrics), 'metric')} within tolerance, same exit code"
            if outputs:
                line += f"; {len(outputs) - len(differ)} of {_count(len(outputs), 'output')} identical"
                line += f" (differ: {', '.join(differ)})" if differ else ""
            return line
        if outcome == MATCHED:
            return (
                f"matched: {_count(len(outputs), 'output')} identical, same exit code (no metrics to compare)"
            )
        reasons = [self._why(c) for c in self.checks if not c.ok]
        if not metrics:
            reasons += [f"{path} (differs)" for path in differ]
        line = f"did not match: {', '.join(reasons)}"
        drifted = any(not c.ok for c in metrics) or (not metrics and differ)
        return line + ("; the original set no seed" if drifted and self.seeded is False else "")

    def _why(self, check: Check) -> str:
        if check.original is None:
            return f"{check.key} (not in the original)"
        if check.reproduced is None:
            return f"{check.key} (missing)"
        verb = " drifted" if self.seeded is False and check.key != EXIT_CODE_KEY else ""
        return f"{check.key}{verb} (delta {_delta(check)})"

    def to_dict(self) -> dict[str, Any]:
        """The verdict as `ledger reproduce --json` prints it and the ledger stores it."""
        exit_row = next((c for c in self.checks if c.key == EXIT_CODE_KEY), None)
        return {
            "outcome": self.outcome,
            "summary": self.summary(),
            "seeded": self.seeded,
            "metrics": [
                {
                    "key": c.key,
                    "original": _encode(c.original),
                    "reproduced": _encode(c.reproduced),
                    "delta": _encode(c.delta),
                    "tolerance": {"abs": c.tolerance.abs, "rel": c.tolerance.rel},
                    "ok": c.ok,
                }
                for c in self.metrics
            ],
            "outputs": [
                {"path": o.path, "original": o.original, "reproduced": o.reproduced, "identical": o.identical}
                for o in self.outputs
            ],
            "not_compared": [{"key": k, "why": why} for k, why in self.not_compared],
            "exit_code": None
            if exit_row is None
            else {
                "original": _integer(exit_row.original),
                "reproduced": _integer(exit_row.reproduced),
                "ok": exit_row.ok,
            },
        }


@dataclass(frozen=True, slots=True)
class ReproductionLink:
    """A stored reproduction: the new run, the run it reproduced, and the verdict."""

    run_id: str
    original_id: str
    matched: bool | None
    """None while the reproduction is still running (or if it died before the verdict)."""
    created_at: float
    verdict: Verdict | None = None

    @property
    def outcome(self) -> str | None:
        """The stored outcome; None while there is no verdict."""
        if self.verdict is not None:
            return self.verdict.outcome
        return None if self.matched is None else (MATCHED if self.matched else DID_NOT_MATCH)


def judge(
    original: Mapping[str, float],
    reproduced: Mapping[str, float],
    *,
    tolerances: Mapping[str, Tolerance],
    exit_codes: tuple[int | None, int | None],
    outputs: tuple[Mapping[str, str | None], Mapping[str, str | None]] = ({}, {}),
    seeded: bool | None = None,
    printed: tuple[set[str], set[str]] = (set(), set()),
) -> Verdict:
    """Compare every metric either run has, every file both wrote, and how the commands ended.

    `printed`: the keys each run's metrics took from its printed output; one that only
    one run has is not compared (`Verdict.not_compared`), nor is a timing without a
    tolerance of its own.
    """
    one_sided = set(original) ^ set(reproduced)
    skipped = {k: PRINTED_ONCE for k in one_sided if k in printed[0] or k in printed[1]}
    skipped |= {
        k: TIMING
        for k in set(original) | set(reproduced)
        if is_timing(k) and not any(fnmatch.fnmatchcase(k, pattern) for pattern in tolerances)
    }
    checks = []
    for key in sorted((set(original) | set(reproduced)) - set(skipped)):
        tolerance = tolerance_for(key, tolerances)
        old, new = original.get(key), reproduced.get(key)
        checks.append(Check(key, old, new, tolerance, tolerance.allows(old, new)))
    old_exit, new_exit = (None if c is None else float(c) for c in exit_codes)
    checks.append(Check(EXIT_CODE_KEY, old_exit, new_exit, EXACT, old_exit == new_exit))
    before, after = outputs
    common = sorted(
        p
        for p in set(before) & set(after)
        if before[p] and after[p] and not any(fnmatch.fnmatchcase(p, g) for g in NOT_EVIDENCE)
    )
    files = tuple(OutputCheck(p, str(before[p]), str(after[p])) for p in common)
    return Verdict(tuple(checks), files, seeded, tuple(sorted(skipped.items())))


def is_timing(key: str) -> bool:
    """A metric that measures how fast the machine ran (the Trainer's `*_runtime`,
    `*_samples_per_second`, `*_steps_per_second`), not what the run computed."""
    name = re.split(r"[/:]", key)[-1]
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in TIMINGS)


def verdict_table(verdict: Verdict) -> str:
    """The tables `ledger reproduce` prints: every metric compared, then every output."""
    rows = [
        [
            c.key,
            _number(c.original),
            _number(c.reproduced),
            _delta(c),
            str(c.tolerance),
            "ok" if c.ok else "DIFFERS" if c.original is not None and c.reproduced is not None else "MISSING",
        ]
        for c in verdict.checks
    ]
    table = _table(["METRIC", "ORIGINAL", "REPRODUCED", "DELTA", "TOLERANCE", "OK"], rows, left=(0, 4, 5))
    for why in (TIMING, PRINTED_ONCE):
        keys = [k for k, reason in verdict.not_compared if reason == why]
        table += f"\nnot compared ({why}): {', '.join(keys)}" if keys else ""
    if not verdict.outputs:
        return table
    excused = bool(verdict.metrics) and all(c.ok for c in verdict.checks)
    files = [
        [
            o.path,
            o.original[:12],
            o.reproduced[:12],
            "ok" if o.identical else "differs" if excused else "DIFFERS",
        ]
        for o in verdict.outputs
    ]
    return table + "\n\n" + _table(["OUTPUT", "ORIGINAL", "REPRODUCED", "OK"], files, left=(0, 1, 2, 3))


def verdict_from_json(text: str | None) -> Verdict | None:
    """Read a stored verdict (also the bare list of rows older ledgers stored); None if unreadable."""
    try:
        data = json.loads(text or "null")
        if isinstance(data, list):
            return Verdict(tuple(_old_check(item) for item in data))
        if not isinstance(data, dict):
            return None
        checks = [
            Check(
                str(m["key"]),
                _decode(m["original"]),
                _decode(m["reproduced"]),
                Tolerance(float(m["tolerance"]["abs"]), float(m["tolerance"]["rel"])),
                bool(m["ok"]),
            )
            for m in data["metrics"]
        ]
        code = data.get("exit_code")
        if isinstance(code, dict):
            old, new = _decode(code["original"]), _decode(code["reproduced"])
            checks.append(Check(EXIT_CODE_KEY, old, new, EXACT, bool(code["ok"])))
        outputs = tuple(
            OutputCheck(str(o["path"]), str(o["original"]), str(o["reproduced"])) for o in data["outputs"]
        )
        seeded = data.get("seeded")
        skipped = tuple((str(k["key"]), str(k["why"])) for k in data.get("not_compared", ()))
        return Verdict(tuple(checks), outputs, seeded if isinstance(seeded, bool) else None, skipped)
    except (ValueError, TypeError, KeyError):
        return None


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
        if reproduces.verdict is not None:
            lines += [f"    {line}" for line in verdict_table(reproduces.verdict).splitlines()]
    for link in reproduced_by:
        run = names.get(link.run_id, link.run_id[:12])
        lines.append(f"  {'reproduced by':<16} {run}: {_state(link)}")
    return ["", "reproduction", *lines] if lines else []


def _state(link: ReproductionLink) -> str:
    if link.matched is None:
        return "no verdict (still running, or stopped before the end)"
    if link.verdict is not None:
        return link.verdict.summary()
    return "matched" if link.matched else "did not match"


def _old_check(item: dict[str, Any]) -> Check:
    return Check(
        key=str(item["key"]),
        original=_decode(item["original"]),
        reproduced=_decode(item["reproduced"]),
        tolerance=Tolerance(float(item.get("abs", 0.0)), float(item.get("rel", 0.0))),
        ok=bool(item["ok"]),
    )


def _table(headers: list[str], rows: list[list[str]], *, left: tuple[int, ...]) -> str:
    """Text columns left-aligned; numbers right-aligned so their digits line up."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if i in left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in [headers, *rows]
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


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


def _integer(value: float | None) -> int | None:
    return None if value is None else int(value)


def _encode(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _decode(value: object) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, int | float | str) else None
