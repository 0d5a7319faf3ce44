"""Small input dialogs: a line of text (tags) and a free-text note."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static, TextArea

if TYPE_CHECKING:
    from textual.app import ComposeResult


class PromptScreen(ModalScreen[str | None]):
    """One line of input; Enter returns it, Escape returns None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, help_text: str, *, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self._title, self._help, self._value, self._placeholder = title, help_text, value, placeholder

    def compose(self) -> ComposeResult:
        """Title, input, help."""
        with Vertical(id="dialog"):
            yield Static(self._title, id="dialog-title", markup=False)
            yield Input(self._value, placeholder=self._placeholder, id="prompt-input")
            yield Static(self._help, id="dialog-help", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter answers."""
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Escape gives up."""
        self.dismiss(None)


class NoteScreen(ModalScreen[str | None]):
    """Edit a run's note; Ctrl+S saves, Escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, note: str) -> None:
        super().__init__()
        self._title, self._note = title, note

    def compose(self) -> ComposeResult:
        """Title, editor, help."""
        with Vertical(id="dialog", classes="-wide"):
            yield Static(self._title, id="dialog-title", markup=False)
            yield TextArea(self._note, id="note-text", soft_wrap=True, show_line_numbers=False)
            yield Static("ctrl+s saves · escape cancels · an empty note removes it", id="dialog-help")

    def action_save(self) -> None:
        """Return the text."""
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        """Return None: nothing changes."""
        self.dismiss(None)
