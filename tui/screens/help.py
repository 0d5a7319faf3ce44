"""`?`: the keys of the screen you were on, and the filter language at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from collections.abc import Sequence

    from textual.app import ComposeResult

FILTERS = (
    ("metrics.acc > 0.9", "a final metric compared: = != < <= > >="),
    ("params.lr <= 0.01", "a param compared; params.optimizer = adam"),
    ("tag:baseline", "carries the tag"),
    ("branch:main  status:failed", "run attributes; commit:1a2b3c matches a prefix"),
    ("has:metrics.f1", "logged that key at all"),
    ('name ~ "resnet*"', "glob match; !~ for not"),
    ("duration > 5m  started >= 2026-01-01", "times and dates"),
    ("a and b   a or b   not a   ( … )", "combine; a bare word searches run names"),
)
"""The filter language of `ledger list`, which the filter box speaks too."""


class HelpScreen(ModalScreen[None]):
    """Keys and filters; escape, q, ? or f1 closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def __init__(self, keys: Sequence[tuple[str, str]], *, title: str, filters: bool) -> None:
        super().__init__()
        self.keys = tuple(keys)
        self._title, self._filters = title, filters

    def compose(self) -> ComposeResult:
        """The keys, then the filter language."""
        with Vertical(id="dialog", classes="-wide -tall"):
            yield Static(f"Keys: {self._title}", id="dialog-title", markup=False)
            with VerticalScroll(id="help-body"):
                yield Static(_table(self.keys, ("key", "action")))
                if self._filters:
                    yield Static(Text("\nFilter language (the same as `ledger list`)", style="bold"))
                    yield Static(_table(FILTERS, ("example", "meaning")))
            yield Static("ctrl+p lists every action in the command palette · escape closes", id="dialog-help")

    def action_close(self) -> None:
        """Back to where you were."""
        self.dismiss()


def _table(rows: Sequence[tuple[str, str]], headers: tuple[str, str]) -> Table:
    table = Table(box=None, padding=(0, 2), show_edge=False, header_style="bold")
    table.add_column(headers[0], no_wrap=True, style="bold")
    table.add_column(headers[1])
    for left, right in rows:
        table.add_row(Text(left), Text(right))
    return table
