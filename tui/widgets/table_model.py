"""What the runs table shows: columns, cells with a semantic style, rows keyed by run ID."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len, set_cell_size

CELL_STYLES = (
    "status-running", "status-finished", "status-failed", "status-crashed",
    "status-interrupted", "muted", "id", "tags", "spark", "number", "warning",
)  # fmt: skip
"""Semantic cell styles; each is a component class `runs-table--<style>` set in CSS."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its key, header label, fixed width and alignment."""

    key: str
    label: str
    width: int
    justify: Literal["left", "right"] = "left"
    sortable: bool = True
    reverse_arrow: bool = False
    """The arrow points the other way (AGE grows as the start time shrinks)."""
    grow: bool = False
    """`width` is a minimum: the column widens to its longest loaded cell, which is never cut
    (a run ID cut to `01a2488…` names every run of the same quarter hour)."""


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell's text and its semantic style (one of CELL_STYLES, or empty)."""

    text: str
    style: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """One row; `key` identifies it across reloads (a run ID)."""

    key: str
    cells: tuple[Cell, ...]
    dim: bool = False
    """Drawn muted (an archived run shown on request)."""


def fit(text: str, width: int, justify: str) -> str:
    """Cut or pad `text` to exactly `width` cells (an ellipsis marks a cut)."""
    text = text.replace("\n", " ")
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…" if width > 0 else ""
    pad = " " * (width - length)
    return pad + text if justify == "right" else text + pad
