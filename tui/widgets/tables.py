"""Fill a DataTable with its column widths computed up front.

DataTable sizes auto-width columns lazily, when it next goes idle; measuring the
cells here lays a table out the same whatever the machine's load (the snapshot
tests depend on it) and keeps widths steady while a search filters the rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from textual.widgets import DataTable

Cell = str | Text
MAX_WIDTH = 60
"""Widest a column gets; longer cells are cut (the row can still be copied or searched)."""


def widths(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[int]:
    """The width each column needs for its header and every cell, capped at MAX_WIDTH."""
    return [
        min(MAX_WIDTH, max([cell_len(header), *(_width(row[i]) for row in rows if i < len(row))]))
        for i, header in enumerate(headers)
    ]


def set_columns(table: DataTable[Any], headers: Sequence[str], sizes: Sequence[int]) -> None:
    """Replace the columns (and drop the rows)."""
    table.clear(columns=True)
    for header, size in zip(headers, sizes, strict=True):
        table.add_column(header, width=size)


def fill(table: DataTable[Any], headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
    """Replace columns and rows."""
    set_columns(table, headers, widths(headers, rows))
    table.add_rows(rows)


def _width(cell: Cell) -> int:
    return cell_len(cell.plain if isinstance(cell, Text) else str(cell))
