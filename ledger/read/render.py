"""Text and JSON renderings of run records for the terminal."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ledger.capture.seeds import describe_seeds, seeds_reported
from ledger.core.comparable import comparable_value
from ledger.core.numbers import format_number
from ledger.core.torch_runtime import describe as describe_torch
from ledger.git.refs import snapshot_ref

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.core.lockfile import Environment
    from ledger.core.records import Annotation, DataItem, RunDetail
    from ledger.core.summary import RunSummary
    from ledger.read.diff import RunsDiff


def format_value(value: object, width: int | None = None) -> str:
    """Compact display of a param or metric value; a number fits `width` (see `format_number`).

    Text longer than `width` is left for the cell to cut: only numbers lose meaning when cut.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(value, width)
    if value is None:
        return "-"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def format_param(value: object) -> str:
    """`format_value`, but a whole float keeps its point (`dropout 0.0`, not `0`): a param's
    type is part of it (`epochs 2` against `noise 6.0`), and `diff` tells 0 from 0.0."""
    text = format_value(value)
    if isinstance(value, float) and text.lstrip("-").isdigit():
        return f"{text}.0"
    return text


def format_age(timestamp: float, now: float | None = None) -> str:
    """`3m ago`-style age, as people scan a list."""
    seconds = max(0.0, (time.time() if now is None else now) - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def format_duration(seconds: float | None) -> str:
    """`1h02m`, `3m05s`, `4.2s`."""
    if seconds is None:
        return "-"
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    if seconds >= 60:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{seconds:.1f}s"


def format_time(timestamp: float) -> str:
    """An ISO-8601 UTC time, second precision."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def runs_table(runs: Sequence[RunSummary], *, params: Sequence[str], metrics: Sequence[str]) -> str:
    """A plain aligned table, one run per line (pipes and `grep` keep working)."""
    headers = ["ID", "STATUS", "STARTED", "TIME", "NAME", "COMMIT", "BRANCH", "TAGS"]
    headers += [f"params.{p}" for p in params] + [f"metrics.{m}" for m in metrics]
    rows = []
    for run in runs:
        commit = "-" if run.commit is None else run.commit[:8] + ("*" if run.dirty else "")
        row = [
            run.short_id,
            run.status,
            format_age(run.started_at),
            format_duration(run.duration),
            run.name or "-",
            commit,
            run.branch or "-",
            ",".join(run.tags) or "-",
        ]
        row += [format_value(run.params.get(p)) for p in params]
        row += [format_value(run.metrics.get(m)) if m in run.metrics else "-" for m in metrics]
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def run_detail(detail: RunDetail, env: Environment | None) -> str:
    """The human view of `ledger show`."""
    s = detail.summary
    out = [f"run {s.id}  ({s.short_id})"]
    out.append(_kv("name", s.name))
    status = s.status if s.exit_code is None else f"{s.status} (exit {s.exit_code})"
    out.append(_kv("status", status))
    out.append(_kv("source", s.source))
    out.append(_kv("started", f"{format_time(s.started_at)} ({format_age(s.started_at)})"))
    out.append(_kv("duration", format_duration(s.duration)))
    out.append(_kv("command", " ".join(detail.argv) or None))
    out.append(_kv("cwd", detail.cwd))
    out.append(_kv("host", f"{detail.user or '?'}@{detail.host or '?'} pid {detail.pid}"))
    if detail.owner:
        out.append(_kv("recorded by", detail.owner, note="server role"))
    if detail.digest:
        out.append(_kv("record digest", detail.digest[:16], note="sealed when the run ended"))
    if detail.peak_rss:
        out.append(_kv("peak memory", f"{detail.peak_rss / 2**20:.1f} MiB"))
    if s.tags:
        out.append(_kv("tags", ", ".join(s.tags)))
    out.append(_kv("seeds", describe_seeds(detail.seeds, reported=seeds_reported(detail.capture_errors))))
    if detail.interpreter:
        out.append(_kv("python", detail.interpreter))
    out += ["", "code"]
    out.append(_kv("commit", s.commit or "(no commits yet)"))
    out.append(_kv("branch", s.branch or "(detached HEAD)"))
    if detail.snapshot:
        state = "uncommitted changes included" if s.dirty else "clean"
        if not s.dirty and detail.snapshot != s.commit:
            from ledger.setup.precommit_config import CONFIG_NAME  # here: `ledger list` needs no difflib

            state = f"clean; also holds exp-ledger's own uncommitted setup in {CONFIG_NAME}"
        out.append(_kv("snapshot", f"{detail.snapshot} ({state})"))
        out.append(
            _kv(
                "",
                f"git diff {s.commit or '4b825dc642cb6eb9a060e54bf8d69288fbee4904'} {snapshot_ref(s.id)}",
            )
        )
    for commit in detail.linked_commits:
        out.append(_kv("committed in", commit))
    for path, reason in detail.snapshot_skipped:
        out.append(_kv("skipped", f"{path}: {reason}"))
    if detail.params:
        out += ["", "params"]
        out += [_kv(p.key, format_param(p.value), note=p.source) for p in detail.params]
    if detail.metrics:
        out += ["", "metrics"]
        for m in detail.metrics:
            where = m.source if m.step is None else f"step {m.step}, {m.source}"
            out.append(_kv(m.key, format_value(m.value), note=where))
    if detail.series_keys:
        out.append(_kv("series", ", ".join(detail.series_keys)))
    if detail.data:
        out += ["", "data"]
        for d in detail.data:
            size = "" if d.size is None else f", {d.size} bytes"
            files = "" if d.nfiles is None else f", {d.nfiles} files"
            out.append(
                _kv(d.path, f"{d.algorithm}:{d.value} ({_data_kind(d)}{size}{files}, {data_match(d)})")
            )
            versioned = sum(1 for f in d.files if f.version_id)
            if versioned:
                remote = next(f.remote for f in d.files if f.version_id)
                out.append(_kv("", f"{versioned} file version(s) on cloud-versioned remote {remote!r}"))
    if detail.outputs or detail.run_folders:
        out += ["", "outputs"]
        out += [_kv("wrote into", f"{f}/") for f in detail.run_folders]
        out += [
            _kv(o.path, f"{o.algorithm}:{o.value or '(not hashed)'} ({o.size} bytes)") for o in detail.outputs
        ]
    if detail.ignored_inputs:
        out += ["", "ignored inputs (git-ignored, not in DVC; read by the run)"]
        out += [
            _kv(i.path, f"{i.algorithm}:{i.value or '(not hashed)'} ({i.size} bytes)")
            for i in detail.ignored_inputs
        ]
    torch = describe_torch(env, detail.torch)
    if env is not None or torch is not None:
        out += ["", "environment"]
    if env is not None:
        out.append(_kv("python", f"{env.implementation} {env.python_version}"))
        out.append(_kv("platform", env.platform))
        out.append(_kv("packages", f"{len(env.packages)} (lock {env.digest[:12]})"))
    if torch is not None:
        out.append(_kv("torch", torch))
    if detail.env_vars:
        out.append(_kv("env vars", ", ".join(f"{k}={v}" for k, v in sorted(detail.env_vars.items()))))
    from ledger.core.verdict import render_links

    out += render_links(detail.reproduces, detail.reproduced_by)
    if detail.log_size is not None:
        cut = ", truncated" if detail.log_truncated else ""
        out += ["", _kv("log", f"{detail.log_size} bytes{cut} (ledger log {s.short_id})")]
    if detail.note:
        out += ["", "note", *(f"  {line}" for line in detail.note.splitlines())]
    if detail.annotations:
        out += ["", "annotations"]
        out += [f"  {format_time(a.created_at)}  {a.author:<16} {_annotation(a)}" for a in detail.annotations]
    if detail.capture_errors:
        out += ["", "capture problems"]
        out += [f"  {line}" for line in detail.capture_errors]
    return "\n".join(line.rstrip() for line in out)


def data_match(item: DataItem) -> str:
    """Whether the workspace held DVC's recorded data, and when that was checked."""
    if item.workspace_match is None:
        return "not checked"
    if item.checked is None:  # records made before inputs and outputs were told apart
        return "matched the workspace" if item.workspace_match else "the workspace differed"
    when = "at the start" if item.checked == "start" else "at the end"
    return f"matched DVC's record {when}" if item.workspace_match else f"did not match DVC's record {when}"


def _data_kind(item: DataItem) -> str:
    from ledger.dvc.files import is_input

    return f"input, {item.role}" if is_input(item.role, item.source) else f"output, {item.role}"


def to_json(value: Any) -> str:
    """JSON for `--json`: dataclasses as objects, NaN/inf as strings (JSON has no NaN)."""
    return json.dumps(_jsonable(value), indent=2, sort_keys=False)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if hasattr(value, "duration"):
            data["duration"] = value.duration
        return data
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return format_value(value)
    return value


def _annotation(a: Annotation) -> str:
    if a.kind == "note":
        first = (a.value or "").splitlines()[0] if a.value else ""
        return "cleared the note" if a.value is None else f"note: {first}"
    if a.kind in ("tag", "untag"):
        return f"{'tagged' if a.kind == 'tag' else 'untagged'} {a.value}"
    return "archived" if a.kind == "archive" else "restored from the archive"


def _kv(key: str, value: str | None, *, note: str | None = None) -> str:
    text = "-" if value is None else value
    suffix = f"   [{note}]" if note else ""
    return f"  {key:<16} {text}{suffix}"


def runs_diff(diff: RunsDiff, *, show_all: bool = False) -> str:
    """The text view of `ledger diff`: changed values side by side, then data, env, code."""
    ids = [d.summary.short_id for d in diff.runs]
    out = [
        "runs  " + "  ".join(f"{i} ({d.summary.name or '-'})" for i, d in zip(ids, diff.runs, strict=True))
    ]
    folders = [", ".join(d.run_folders) or "(none)" for d in diff.runs]
    if any(d.run_folders for d in diff.runs) and (show_all or len(set(folders)) > 1):
        # Once here, rather than as a change in every param that holds a path inside it.
        out += ["", "run folder", "   " + "  ->  ".join(folders)]
    for title, rows in (("params", diff.params), ("metrics", diff.metrics), ("data", diff.data)):
        shown = [r for r in rows if show_all or r.changed]
        if not shown:
            continue
        out += ["", title]
        width = max(len(r.key) for r in shown)
        for row in shown:
            shown_as = format_param if title == "params" else format_value
            cells = [shown_as(v) if v is not None else "(none)" for v in row.values]
            deltas = [format_number(d, plus=True) for d in row.deltas[1:] if d is not None and d != 0]
            mark = "*" if row.changed else " "
            suffix = f"   ({', '.join(deltas)})" if deltas and title == "metrics" else ""
            out.append(f" {mark} {row.key:<{width}}  " + "  ->  ".join(cells) + suffix)
    for short, env in zip(ids[1:], diff.environments, strict=True):
        if env is None or env.is_empty:
            continue
        out += ["", f"environment ({ids[0]} -> {short})"]
        if env.python:
            out.append(f"   python {env.python[0]} -> {env.python[1]}")
        if env.platform:
            out.append(f"   platform {env.platform[0]} -> {env.platform[1]}")
        out += [f" + {p.name} {p.version}" for p in env.added]
        out += [f" - {p.name} {p.version}" for p in env.removed]
        out += [f" ~ {c.summary}" for c in env.changed]
    for short, code in zip(ids[1:], diff.code, strict=True):
        if code is None:
            continue
        out += ["", f"code ({ids[0]} -> {short}): git diff {code.base[:12]} {code.other[:12]}"]
        if not code.files:
            out.append("   identical")
        for path, added, deleted in code.files:
            counts = "binary" if added < 0 else f"+{added} -{deleted}"
            out.append(f"   {path}  {counts}")
        if code.patch:
            out += ["", code.patch.rstrip()]
    return "\n".join(out)


def common_keys(runs: Sequence[RunSummary], *, limit: int) -> tuple[list[str], list[str]]:
    """Columns worth showing: the metrics most runs have, and the params that vary most.

    A sweep's varied param must not hide behind ones that merely differ: params rank by
    how many distinct values they take among `runs`, then by how few runs lack them,
    then by name (the same runs always give the same columns). A param every run has
    with one value never shows; nor does a path inside each run's own folder (Hydra's
    `paths.output_dir`), which differs in every run by construction. Both lists come
    back sorted by name.
    """
    metric_counts = Counter(k for r in runs for k in r.metrics)
    metrics = [k for k, _ in metric_counts.most_common(limit)]
    values: dict[str, list[object]] = {}
    compared: dict[str, list[object]] = {}
    for run in runs:
        for key, value in run.params.items():
            if value is not None:  # a JSON null shows as "-", as a missing param does
                values.setdefault(key, []).append(value)
                compared.setdefault(key, []).append(comparable_value(value, run.run_folders))
    # Fewer values by place in the run's folder, never more: a fixed `results/` path is
    # one value though one run made the folder and another found it.
    counts = {k: (min(_distinct(v), _distinct(compared[k])), len(v)) for k, v in values.items()}
    varying = [k for k, (distinct, present) in counts.items() if distinct > 1 or present < len(runs)]
    varying.sort(key=lambda k: (-counts[k][0], -counts[k][1], k))
    return sorted(metrics), sorted(varying[:limit])


def _distinct(values: list[object]) -> int:
    """How many different JSON values: `_identity`'s equality, in one set of (type, value) pairs."""
    try:
        pairs = {(v.__class__, v) for v in values}
    except TypeError:  # a list or dict among them
        return len({_identity(v) for v in values})
    nans = sum(1 for _, v in pairs if v != v)  # NaN is unequal to itself: one value for all of them
    return len(pairs) - nans + (nans > 0)


def _identity(value: object) -> object:
    """Equal for equal JSON values only: 1, 1.0 and True stay apart, NaN equals NaN.

    Lists and dicts compare by their JSON; a scalar by type and value.
    """
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, float) and math.isnan(value):
        return (float, "nan")
    return (type(value), value)
