"""The filter box: parses the filter language as you type and shows errors in place."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from ledger.core.errors import FilterSyntaxError
from ledger.core.filters import parse_filter

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from ledger.core.filters import Expr

PLACEHOLDER = "filter: metrics.acc > 0.9 and params.lr <= 0.01 and tag:baseline and branch:main"


class FilterBar(Vertical):
    """An input for the filter language; a valid filter is posted, an invalid one explained."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "done", "Back to runs", show=False),
        Binding("ctrl+u", "clear", "Clear filter", show=False),
    ]

    class Applied(Message):
        """The text parsed: `expr` is the filter (None matches every run)."""

        def __init__(self, text: str, expr: Expr | None) -> None:
            super().__init__()
            self.text = text
            self.expr = expr

        def can_replace(self, message: Message) -> bool:
            """Typing fast: only the latest filter needs running."""
            return isinstance(message, FilterBar.Applied)

    class Done(Message):
        """Enter or Escape: the user is done typing."""

    def __init__(self, text: str = "", *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._initial = text
        self._last: Expr | None = None
        self._has_last = False

    def compose(self) -> ComposeResult:
        """An input and the line that explains a bad filter."""
        yield Input(self._initial, placeholder=PLACEHOLDER, id="filter-input", select_on_focus=False)
        yield Static("", id="filter-error", markup=False)

    @property
    def input(self) -> Input:
        """The text box."""
        return self.query_one("#filter-input", Input)

    @property
    def error(self) -> str:
        """The parse error shown, empty when the filter is valid."""
        return str(self.query_one("#filter-error", Static).content)

    def on_input_changed(self, event: Input.Changed) -> None:
        """Parse on every keystroke; post only a filter that differs from the last one."""
        event.stop()
        message = self.query_one("#filter-error", Static)
        try:
            expr = parse_filter(event.value)
        except FilterSyntaxError as e:
            text = e.message.removeprefix("filter: ")
            message.update(text + (f"  ({e.hint})" if e.hint else ""))
            self.set_class(True, "-invalid")
            return
        message.update("")
        self.set_class(False, "-invalid")
        if self._has_last and expr == self._last:
            return
        self._last, self._has_last = expr, True
        self.post_message(self.Applied(event.value, expr))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter hands the keyboard back to the table."""
        event.stop()
        self.post_message(self.Done())

    def action_done(self) -> None:
        """Escape hands the keyboard back to the table."""
        self.post_message(self.Done())

    def action_clear(self) -> None:
        """Empty the box (every run matches)."""
        self.input.value = ""
