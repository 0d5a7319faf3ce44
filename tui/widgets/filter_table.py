"""A table with a search box that keeps the rows whose text holds the search term."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from ledger.tui.widgets.tables import set_columns, widths

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.text import Text
    from textual.app import ComposeResult


class FilterTable(Vertical):
    """Search box, status line and a DataTable over rows given as cells."""

    def __init__(self, *, placeholder: str = "search", id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._placeholder = placeholder
        self._rows: list[tuple[str, tuple[str | Text, ...]]] = []
        self._noun = "rows"
        self._status = ""

    def compose(self) -> ComposeResult:
        """Search box, status, table."""
        yield Input(placeholder=self._placeholder, classes="table-search")
        yield Static("", classes="table-status", markup=False)
        yield DataTable(cursor_type="row", zebra_stripes=True, classes="table-body")

    def set_rows(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[str | Text]],
        *,
        noun: str = "rows",
        status: str = "",
    ) -> None:
        """Replace the table's content; each row is searched by its cells' text."""
        set_columns(self.query_one(DataTable), columns, widths(columns, rows))
        self._rows = [(" ".join(str(c) for c in row).lower(), tuple(row)) for row in rows]
        self._noun, self._status = noun, status
        self._show(self.query_one(Input).value)

    @property
    def status(self) -> str:
        """The line above the table."""
        return str(self.query_one(".table-status", Static).content)

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter as you type."""
        event.stop()
        self._show(event.value)

    def _show(self, term: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        term = term.strip().lower()
        shown = [cells for text, cells in self._rows if term in text]
        table.add_rows(shown)
        status = f"{len(shown):,} of {len(self._rows):,} {self._noun} match {term!r}" if term else ""
        line = " · ".join(p for p in (self._status, status) if p) or f"{len(self._rows):,} {self._noun}"
        self.query_one(".table-status", Static).update(line)
