"""A yes/no question before anything that changes or runs something."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

if TYPE_CHECKING:
    from rich.console import RenderableType
    from textual.app import ComposeResult


class ConfirmScreen(ModalScreen[bool]):
    """Ask; dismiss with True (confirmed) or False."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "Cancel"),
        Binding("y", "answer(True)", "Confirm"),
    ]

    def __init__(
        self, title: str, body: RenderableType, *, confirm: str = "Confirm", danger: bool = False
    ) -> None:
        super().__init__(classes="-danger" if danger else "")
        self._title, self._body, self._confirm = title, body, confirm

    def compose(self) -> ComposeResult:
        """Title, body, and the two buttons."""
        with Vertical(id="dialog"):
            yield Static(self._title, id="dialog-title", markup=False)
            with VerticalScroll(id="dialog-body"):
                yield Static(self._body, markup=False)
            with Horizontal(id="dialog-buttons"):
                yield Button(
                    f"{self._confirm} (y)",
                    id="confirm",
                    variant="error" if self.has_class("-danger") else "primary",
                )
                yield Button("Cancel (n)", id="cancel")

    def on_mount(self) -> None:
        """Cancel is the safe default."""
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Either button answers."""
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, yes: bool) -> None:
        """Answer from the keyboard."""
        self.dismiss(yes)
