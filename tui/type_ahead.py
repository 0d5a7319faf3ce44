"""Keys that open a text box must not lose what is typed right behind them.

Textual hands each key to the widget focused when the key arrives, and `Widget.focus()`
only moves the focus on a later turn of the event loop. A fast typist (or a loaded machine)
who types `/tag:best` would have `tag:best` delivered to the table, where `t` opens the tag
prompt. Binding the opening key with `priority=True` runs its action while the app takes the
key in, before the next key is routed, and `open_box` moves the focus at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.actions import SkipAction
from textual.widgets import Input

if TYPE_CHECKING:
    from textual.screen import Screen


def open_box(screen: Screen[Any], box: Input) -> None:
    """Focus `box` now; inside any text box the key is text, so the binding steps aside."""
    if isinstance(screen.focused, Input):
        raise SkipAction
    screen.set_focus(box)
