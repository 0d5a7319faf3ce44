"""Pick the column the runs table sorts by."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from collections.abc import Sequence

    from textual.app import ComposeResult


class SortPicker(ModalScreen[str | None]):
    """Dismisses with a column key, "" for the default order, or None (cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, columns: Sequence[tuple[str, str]], *, current: str | None, descending: bool) -> None:
        super().__init__()
        self._columns, self._current, self._descending = columns, current, descending

    def compose(self) -> ComposeResult:
        """The sortable columns; choosing the current one again reverses it."""
        options = [Option("newest first (default)", id="")]
        for key, label in self._columns:
            arrow = ""
            if key == self._current:
                arrow = "  ▼ (again: ▲)" if self._descending else "  ▲ (again: ▼)"
            options.append(Option(f"{label}{arrow}", id=key))
        with Vertical(id="dialog"):
            yield Static("Sort runs by", id="dialog-title")
            yield OptionList(*options, id="sort-options")
            yield Static("enter sorts · the same column again reverses · escape cancels", id="dialog-help")

    def on_mount(self) -> None:
        """Start on the current sort column."""
        options = self.query_one(OptionList)
        if self._current is not None:
            options.highlighted = options.get_option_index(self._current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Choose."""
        self.dismiss(event.option.id or "")

    def action_cancel(self) -> None:
        """Keep the current order."""
        self.dismiss(None)
