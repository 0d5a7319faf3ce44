"""Turn a run's records into what the detail tabs show: an overview, rows, plot lines."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from ledger.core.torch_runtime import describe as describe_torch
from ledger.read.render import format_age, format_duration, format_time, format_value
from ledger.tui.widgets.metric_plot import Line
from ledger.tui.widgets.tables import MAX_WIDTH

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from rich.style import Style

    from ledger.core.chunks import Points
    from ledger.core.lockfile import Environment
    from ledger.core.records import RunDetail
    from ledger.core.torch_runtime import TorchRuntime
    from ledger.core.verdict import ReproductionLink

    Styler = Callable[[str], Style]


def overview(
    detail: RunDetail,
    *,
    now: float,
    reproductions: Sequence[ReproductionLink],
    subject: str | None,
    style: Styler,
) -> Table:
    """The overview tab: who, when, what, from which code, with which results."""
    s = detail.summary
    table = Table.grid(padding=(0, 2))
    table.add_column(style=style("muted"), no_wrap=True)
    table.add_column()

    def section(title: str) -> None:
        table.add_row(Text(title, style=style("heading")), "")

    def row(key: str, value: str | Text | None) -> None:
        if value is not None and value != "":
            table.add_row(key, value if isinstance(value, Text) else Text(value))

    section("run")
    row("id", s.id)
    row("name", s.name)
    status = Text(s.status, style=style(s.status))
    if s.exit_code is not None:
        status.append(f" (exit {s.exit_code})")
    row("status", status)
    row("source", s.source)
    row("started", f"{format_time(s.started_at)} ({format_age(s.started_at, now)})")
    row("duration", format_duration(s.duration))
    row("command", " ".join(detail.argv))
    row("cwd", detail.cwd)
    row("host", f"{detail.user or '?'}@{detail.host or '?'}" + (f" pid {detail.pid}" if detail.pid else ""))
    if detail.peak_rss:
        row("peak memory", f"{detail.peak_rss / 2**20:.1f} MiB")
    if detail.seeds:
        row("seeds", ", ".join(f"{k}={v}" for k, v in detail.seeds.items()))
    row("tags", Text(", ".join(s.tags), style=style("accent")) if s.tags else None)
    row("note", detail.note)
    section("code")
    commit = s.commit or "(no commit yet)"
    row("commit", commit + (f"  {subject}" if subject else ""))
    row("branch", s.branch or "(detached HEAD)")
    if detail.snapshot:
        state = "with uncommitted changes" if s.dirty else "clean"
        row("snapshot", f"{detail.snapshot} ({state}; the Code tab shows the diff)")
    for sha in detail.linked_commits:
        row("committed in", sha)
    for path, reason in detail.snapshot_skipped:
        row("left out", f"{path}: {reason}")
    section("results")
    row("params", str(len(detail.params)))
    row("metrics", ", ".join(f"{m.key}={format_value(m.value)}" for m in detail.metrics[:8]) or "none")
    row("series", ", ".join(detail.series_keys) or "none")
    row("data", f"{len(detail.data)} DVC path(s), {len(detail.outputs)} output file(s)")
    row("environment", detail.environment_digest[:12] if detail.environment_digest else "not recorded")
    if detail.log_size is not None:
        row("log", f"{detail.log_size:,} bytes" + (" (truncated)" if detail.log_truncated else ""))
    for link in reproductions:
        verdict = {True: "matched", False: "did NOT match", None: "not finished"}[link.matched]
        meaning = {True: "good", False: "bad", None: "muted"}[link.matched]
        if link.run_id == s.id:
            row("reproduces", Text(f"{link.original_id[:12]}: {verdict}", style=style(meaning)))
        else:
            row("reproduced by", Text(f"{link.run_id[:12]}: {verdict}", style=style(meaning)))
    if detail.capture_errors:
        section("capture problems")
        for line in detail.capture_errors:
            row("", Text(line, style=style("bad")))
    return table


def param_rows(detail: RunDetail) -> list[tuple[str, str, str]]:
    """Params tab rows: key, value, where it came from."""
    return [(p.key, format_value(p.value, MAX_WIDTH), p.source) for p in detail.params]


def metric_rows(detail: RunDetail) -> list[tuple[str, str, str, str]]:
    """Final metric rows: key, value, step, source."""
    return [
        (m.key, format_value(m.value, MAX_WIDTH), "" if m.step is None else str(m.step), m.source)
        for m in detail.metrics
    ]


def data_rows(
    detail: RunDetail, live: Mapping[str, bool | None] | None, style: Styler
) -> list[tuple[str | Text, ...]]:
    """Data tab rows: path, role, hash, size, files, stage, match at capture, match now."""

    def match(value: bool | None, *, checked: bool) -> Text:
        if not checked:
            return Text("…", style=style("muted"))
        if value is None:
            return Text("unknown", style=style("muted"))
        return Text("matches", style=style("good")) if value else Text("differs", style=style("bad"))

    rows: list[tuple[str | Text, ...]] = []
    for d in detail.data:
        rows.append(
            (
                d.path,
                d.role,
                f"{d.algorithm}:{d.value}",
                human_size(d.size),
                "" if d.nfiles is None else f"{d.nfiles:,}",
                d.stage or d.source,
                match(d.workspace_match, checked=True),
                match(None if live is None else live.get(d.path), checked=live is not None),
            )
        )
    return rows


def output_rows(detail: RunDetail) -> list[tuple[str, str, str]]:
    """Outputs rows: path, hash, size."""
    return [
        (o.path, f"{o.algorithm}:{o.value}" if o.value else "(not hashed)", human_size(o.size))
        for o in detail.outputs
    ]


def package_rows(env: Environment) -> list[tuple[str, str, str, str]]:
    """Environment rows: name, version, source, origin (URL, commit, editable)."""
    rows: list[tuple[str, str, str, str]] = []
    for p in env.packages:
        origin = " ".join(
            x
            for x in (p.url or "", p.commit[:12] if p.commit else "", "(editable)" if p.editable else "")
            if x
        )
        rows.append((p.name, p.version, p.source, origin))
    return rows


def environment_summary(env: Environment, torch: TorchRuntime | None = None) -> str:
    """The line above the package table."""
    parts = [f"{env.implementation} {env.python_version}", env.platform, f"{len(env.packages)} packages"]
    described = describe_torch(env, torch)
    if described:
        parts.append(f"torch {described}")
    parts.append(f"lock {env.digest[:12]}")
    return " · ".join(parts)


def series_line(label: str, points: Points, *, axis: str) -> Line:
    """A series as a plot line on the step axis, or on seconds since its first point."""
    if axis == "time" and len(points):
        start = points.times_ms[0]
        xs: Sequence[float] = [(t - start) / 1000 for t in points.times_ms]
    else:
        xs = [float(s) for s in points.steps]
    return Line(label, xs, list(points.values))


def human_size(size: int | None) -> str:
    """`1.2 MB`-style size; empty when unknown."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover - the loop always returns


def finite_count(values: Sequence[float]) -> int:
    """How many values a plot can draw."""
    return sum(1 for v in values if math.isfinite(v))
