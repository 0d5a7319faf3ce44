"""Rich styles named by meaning and coloured by the app's theme, for text built in code.

Table cells and patches are Rich `Text`, which cannot use CSS variables; these
styles read the same theme variables (`$success`, `$error`...) the `.tcss` uses,
so a theme change recolours them too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.style import Style
from textual.color import Color, ColorParseError

if TYPE_CHECKING:
    from textual.app import App

MEANINGS: dict[str, tuple[str, bool]] = {
    "changed": ("warning", True),
    "added": ("success", False),
    "removed": ("error", False),
    "good": ("success", False),
    "bad": ("error", True),
    "muted": ("foreground-muted", False),
    "accent": ("accent", False),
    "heading": ("primary", True),
    "running": ("warning", True),
    "finished": ("success", False),
    "failed": ("error", True),
    "crashed": ("error", True),
    "interrupted": ("warning", False),
}
"""Meaning -> (theme variable, bold)."""


def style(app: App[Any], meaning: str) -> Style:
    """The Rich style for a meaning under the current theme (plain if unknown)."""
    variable, bold = MEANINGS.get(meaning, ("", False))
    variables = app.theme_variables
    value = variables.get(variable)
    if value is None:
        return Style(bold=bold)
    try:
        color = Color.parse(value)
        background = Color.parse(variables.get("background", "#000000"))
    except ColorParseError:
        return Style(bold=bold)
    if color.a < 1:
        color = background + color
    return Style(color=color.rich_color, bold=bold)
