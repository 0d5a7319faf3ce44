"""What one run may record, and values made safe to store before they reach the ledger.

One pathological file must not bloat or break the ledger: a YAML alias that refers to
itself, a few hundred bytes of nested aliases that expand to gigabytes, a params file
of tens of megabytes, millions of metric keys, a file name that is not UTF-8. Each
limit hit is a capture problem on the run (what was left out, and why), never a failure.
The figures are generous next to MLflow's (a param value of 6,000 characters, 1,000
metrics and 100 params per logged batch): a demanding user never meets them.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

from ledger.core.chunks import Points
from ledger.core.param_values import to_row

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ledger.core.records import Metric, Param

T = TypeVar("T")

MAX_FILE_BYTES = 4 * 1024**2
"""Largest params or metrics file read (YAML parsing costs about a second per 4 MB)."""
MAX_DEPTH = 100
"""Deepest nesting of mappings and lists in a params or metrics file."""
MAX_VALUES = 100_000
"""Values a params or metrics file may hold, an alias counted each time it is used."""
MAX_PARAMS = 10_000
"""Params one run may record."""
MAX_PARAM_CHARS = 6_000
"""Longest param value, as stored (a list or mapping as JSON); MLflow's limit."""
MAX_METRICS = 10_000
"""Metric keys (final values and step series together) one run may record."""
MAX_SERIES_POINTS = 1_000_000
"""Points of one step series read from files or the log."""


def check_document(name: str, data: Any) -> None:
    """Refuse a parsed document that refers to itself, nests too deep or expands too far.

    YAML aliases make shared (even cyclic) objects: walking them as the ledger will
    (flattening, JSON) counts every use, so the walk stops at the limit, not at the end.

    Raises:
        ValueError: one line naming the file and the limit.
    """
    stack: list[tuple[Any, int, bool]] = [(data, 1, False)]
    open_ids: set[int] = set()
    seen = 0
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            open_ids.discard(id(node))
            continue
        seen += 1
        if seen > MAX_VALUES:
            raise ValueError(
                f"{name}: expands to more than {MAX_VALUES:,} values (nested aliases?); not read"
            )
        if not isinstance(node, (dict, list)):
            continue
        if id(node) in open_ids:
            raise ValueError(f"{name}: a value contains itself (a recursive alias); not read")
        if depth > MAX_DEPTH:
            raise ValueError(f"{name}: nested deeper than {MAX_DEPTH} levels; not read")
        open_ids.add(id(node))
        stack.append((node, depth, True))
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1, False) for child in children)


def cap_params(params: Sequence[Param], errors: list[str]) -> list[Param]:
    """Drop values too long to store, and params past the run's limit; each a problem line."""
    kept: list[Param] = []
    for param in params:
        size = len(to_row(param.value).text)
        if size > MAX_PARAM_CHARS:
            errors.append(
                f"param {param.key!r} ({param.source}): value of {size:,} characters, "
                f"over the {MAX_PARAM_CHARS:,} a param may hold; not recorded"
            )
        else:
            kept.append(param)
    if len(kept) > MAX_PARAMS:
        errors.append(
            f"{len(kept):,} params, over the {MAX_PARAMS:,} a run may record; kept the first {MAX_PARAMS:,}"
        )
        kept = kept[:MAX_PARAMS]
    return kept


def cap_results(
    metrics: Sequence[Metric],
    series: Mapping[str, Mapping[str, Points]],
    errors: list[str],
    *,
    taken: int = 0,
) -> tuple[list[Metric], dict[str, dict[str, Points]]]:
    """Keep at most `MAX_METRICS` keys (`taken` already used) and `MAX_SERIES_POINTS` a series."""
    room = MAX_METRICS - taken
    keys = list(dict.fromkeys([m.key for m in metrics] + [k for found in series.values() for k in found]))
    allowed = set(keys[: max(room, 0)])
    if len(keys) > len(allowed):
        errors.append(
            f"{taken + len(keys):,} metric keys, over the {MAX_METRICS:,} a run may record; "
            f"kept the first {MAX_METRICS:,}"
        )
    kept_series: dict[str, dict[str, Points]] = {}
    for origin, found in series.items():
        for key, points in found.items():
            if key not in allowed:
                continue
            if len(points) > MAX_SERIES_POINTS:
                errors.append(
                    f"metric {key!r} ({origin}): {len(points):,} points, over the "
                    f"{MAX_SERIES_POINTS:,} a series may hold; kept the first {MAX_SERIES_POINTS:,}"
                )
                points = Points(
                    points.steps[:MAX_SERIES_POINTS],
                    points.times_ms[:MAX_SERIES_POINTS],
                    points.values[:MAX_SERIES_POINTS],
                )
            kept_series.setdefault(origin, {})[key] = points
    return [m for m in metrics if m.key in allowed], kept_series


def safe_text(text: str) -> str:
    """Text the database can store: bytes that are not UTF-8 (a file name's) as `\\xff`."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def scrub(record: T, errors: list[str]) -> T:
    """`record` with every string made storable (`safe_text`); one problem line if any changed."""
    changed: list[str] = []
    clean = _scrub(record, changed)
    if changed:
        shown = ", ".join(changed[:3]) + (", ..." if len(changed) > 3 else "")
        errors.append(
            f"{len(changed)} file name(s) or value(s) not UTF-8, recorded with \\x escapes: {shown}"
        )
    return clean  # type: ignore[no-any-return]


def _scrub(value: Any, changed: list[str]) -> Any:
    if isinstance(value, str):
        clean = safe_text(value)
        if clean is not value:
            changed.append(clean)
        return clean
    if isinstance(value, (list, tuple)):
        items = [_scrub(v, changed) for v in value]
        same = all(a is b for a, b in zip(items, value, strict=True))
        return value if same else type(value)(items)
    if isinstance(value, dict):
        pairs = [(_scrub(k, changed), _scrub(v, changed)) for k, v in value.items()]
        same = all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        updates = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _scrub(old, changed)
            if new is not old:
                updates[f.name] = new
        return dataclasses.replace(value, **updates) if updates else value
    return value
