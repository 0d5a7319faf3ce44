"""The runs table's columns: which to show, and how a run fills each cell."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.core.filters import Field, SortKey, fields_used
from ledger.core.numbers import FITS_ALL
from ledger.read.render import format_age, format_duration, format_value
from ledger.tui.sparkline import sparkline
from ledger.tui.widgets.table_model import Cell, Column, Row

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ledger.core.filters import Expr
    from ledger.core.summary import RunSummary
    from ledger.tui.settings import UiSettings

SPARK_WIDTH = 12
AUTO_KEYS = 4
"""Params and metrics chosen automatically, as `ledger list` does."""

_BASE: dict[str, tuple[Column, str | None]] = {
    "status": (Column("status", "STATUS", 11), "status"),
    "age": (Column("age", "AGE", 5, "right", reverse_arrow=True), "started"),
    "name": (Column("name", "NAME", 16), "name"),
    "id": (Column("id", "ID", 8, grow=True), "id"),
    "commit": (Column("commit", "COMMIT", 8), "commit"),
    "subject": (Column("subject", "SUBJECT", 22, sortable=False), None),
    "branch": (Column("branch", "BRANCH", 10), "branch"),
    "tags": (Column("tags", "TAGS", 12, sortable=False), None),
    "duration": (Column("duration", "TIME", 7, "right"), "duration"),
    "spark": (Column("spark", "CURVE", SPARK_WIDTH), None),
}
"""Run columns and the sort field each maps to (None: the column cannot be sorted)."""


LEADING = ("status", "age", "name", "id", "spark")
"""Run columns shown before the metrics and params; the others follow them."""


@dataclass(frozen=True, slots=True)
class ColumnSet:
    """The columns on screen, and what the page query must fetch for them."""

    columns: tuple[Column, ...]
    params: tuple[str, ...]
    metrics: tuple[str, ...]
    main_metric: str | None

    def sort_field(self, key: str) -> Field | None:
        """The field a column sorts by (None if it cannot be sorted)."""
        if key == "spark":
            return None if self.main_metric is None else Field("metrics", self.main_metric)
        if key in _BASE:
            name = _BASE[key][1]
            return None if name is None else Field("run", name)
        scope, _, name = key.partition(":")
        if scope == "params":
            return Field("params", name)
        return Field("metrics", name) if scope == "metrics" else None

    def sort_choices(self, *, params: Sequence[str], metrics: Sequence[str]) -> list[tuple[str, str]]:
        """(column key, label) of every order: the sortable columns shown, then each other
        metric and param (`params`, `metrics`: the ledger's keys; choosing one shows it)."""
        shown = [
            (c.key, c.key.replace(":", ".", 1) if ":" in c.key else c.label)
            for c in self.columns
            if self.sort_field(c.key) is not None
        ]
        keys = {k for k, _ in shown}
        others = [(f"metrics:{m}", f"metrics.{m}") for m in metrics]
        others += [(f"params:{p}", f"params.{p}") for p in params]
        return shown + [(k, label) for k, label in others if k not in keys]

    def column_for(self, sort: SortKey) -> str | None:
        """The column key showing a sort key's arrow."""
        if sort.field.scope == "run":
            return next((k for k, (_, f) in _BASE.items() if f == sort.field.name), None)
        return f"{sort.field.scope}:{sort.field.name}"


@dataclass(frozen=True, slots=True)
class RowContext:
    """What a row needs besides its run: the time, commit subjects, sparkline points."""

    now: float
    subjects: Mapping[str, str] = field(default_factory=dict)
    sparks: Mapping[str, Sequence[float]] = field(default_factory=dict)
    archived: frozenset[str] = frozenset()


def column_set(
    settings: UiSettings,
    *,
    auto_params: Sequence[str] = (),
    auto_metrics: Sequence[str] = (),
    main_metric: str | None = None,
    where: Expr | None = None,
    sort: Sequence[SortKey] = (),
) -> ColumnSet:
    """The columns for the current settings, plus the fields the filter and sort use."""
    params = list(settings.params if settings.params is not None else auto_params)
    metrics = list(settings.metrics if settings.metrics is not None else auto_metrics)
    used = [*(fields_used(where) if where is not None else ()), *(s.field for s in sort)]
    for f in used:
        target = params if f.scope == "params" else metrics if f.scope == "metrics" else None
        if target is not None and f.name not in target:
            target.append(f.name)
    main = settings.main_metric or main_metric
    shown = [b for b in settings.base if b in _BASE and (b != "spark" or main)]
    both = set(params) & set(metrics)
    columns = [_BASE[b][0] for b in LEADING if b in shown]
    columns += [_value_column("metrics", m, prefix=m in both) for m in metrics]
    columns += [_value_column("params", p, prefix=p in both) for p in params]
    columns += [_BASE[b][0] for b in shown if b not in LEADING]
    return ColumnSet(tuple(columns), tuple(params), tuple(metrics), main)


def make_row(run: RunSummary, columns: Sequence[Column], ctx: RowContext) -> Row:
    """A run as a table row."""
    return Row(
        key=run.id,
        cells=tuple(_cell(run, c, ctx) for c in columns),
        dim=run.id in ctx.archived,
    )


def _cell(run: RunSummary, column: Column, ctx: RowContext) -> Cell:
    key = column.key
    if key == "status":
        return Cell(run.status, f"status-{run.status}")
    if key == "age":
        return Cell(format_age(run.started_at, ctx.now).removesuffix(" ago"), "muted")
    if key == "name":
        return Cell(run.name, "") if run.name else Cell("-", "muted")
    if key == "id":
        return Cell(run.short_id, "id")
    if key == "commit":
        if run.commit is None:
            return Cell("-", "muted")
        return Cell(run.commit[:7] + ("*" if run.dirty else ""), "warning" if run.dirty else "")
    if key == "subject":
        subject = ctx.subjects.get(run.commit or "")
        return Cell(subject, "") if subject else Cell("-", "muted")
    if key == "branch":
        return Cell(run.branch, "") if run.branch else Cell("-", "muted")
    if key == "tags":
        return Cell(",".join(run.tags), "tags") if run.tags else Cell("", "")
    if key == "duration":
        return Cell(format_duration(run.duration), "muted")
    if key == "spark":
        points = ctx.sparks.get(run.id)
        return Cell(sparkline(points, SPARK_WIDTH), "spark") if points else Cell("", "")
    scope, _, name = key.partition(":")
    values = run.params if scope == "params" else run.metrics
    if name not in values:
        return Cell("-", "muted")
    value = values[name]
    bad = isinstance(value, float) and not math.isfinite(value)
    return Cell(format_value(value, column.width), "warning" if bad else "number")


def _value_column(scope: str, key: str, *, prefix: bool) -> Column:
    label = f"{scope[0]}.{key}" if prefix else key
    label = label if len(label) <= 14 else "…" + label[-13:]
    return Column(f"{scope}:{key}", label, max(len(label), FITS_ALL), "right")
