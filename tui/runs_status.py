"""The words around the runs table: the status line and the empty-table message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.core.filters import Field

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.core.filters import SortKey

NO_MATCH = "No run matches this filter.\n\nEdit it above, or press ctrl+u in the box to clear it."
ALL_ARCHIVED = "Every run is archived.\n\nPress A to show archived runs."
NO_RUNS = (
    "No runs yet.\n\n"
    "Record one with:  ledger run -- python train.py\n"
    "or let git record them:  ledger init  (commits that change params or metrics)\n\n"
    "This table fills in by itself as runs land."
)


def empty_text(*, filtered: bool, ledger_total: int | None) -> str:
    """Why the table is empty: the filter, the archive, or no runs at all."""
    if filtered:
        return NO_MATCH
    return ALL_ARCHIVED if ledger_total else NO_RUNS


def status_line(
    *, total: int | None, cursor: int, sort: Sequence[SortKey], archived: bool, marked: int
) -> str:
    """`12 of 1,234 runs · sorted by metrics.acc descending · 2 marked (d diffs them)`."""
    count = "counting runs…" if total is None else f"{total:,} run{'s' if total != 1 else ''}"
    parts = [f"{min(cursor + 1, total):,} of {count}" if total else count]
    if sort:
        parts.append(f"sorted by {sort_text(sort[0])}")
    if archived:
        parts.append("showing archived")
    if marked:
        parts.append(f"{marked} marked (d diffs them)")
    return " · ".join(parts)


def sort_text(key: SortKey) -> str:
    """A sort key in words (`newest first`, `metrics.acc descending`)."""
    if key.field == Field("run", "started"):
        return "newest first" if key.descending else "oldest first"
    name = key.field.name if key.field.scope == "run" else f"{key.field.scope}.{key.field.name}"
    return f"{name} {'descending' if key.descending else 'ascending'}"
