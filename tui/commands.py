"""The command palette's entries: every action of the current screen, from its bindings.

Listing bindings (rather than a second hand-kept list) means a new key binding is in
the palette the moment it exists, with the same description the footer shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Provider

if TYPE_CHECKING:
    from textual.app import App
    from textual.command import Hits
    from textual.dom import DOMNode
    from textual.screen import Screen


GENERIC = frozenset({"focus_next", "focus_previous", "copy_text", "command_palette", "maximize", "minimize"})
"""Textual's own bindings on every app (move focus, copy the selection, open the
palette): not ledger actions, so neither help nor the palette lists them."""


@dataclass(frozen=True, slots=True)
class Action:
    """One runnable action: its description, key and where it runs."""

    title: str
    key: str
    node: DOMNode
    action: str


def screen_actions(app: App[Any], screen: Screen[Any]) -> list[Action]:
    """The enabled actions of a screen, its focused widgets and the app, deduplicated."""
    found: dict[tuple[int, str], Action] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or not active.enabled:
            continue
        if binding.action.rpartition(".")[2] in GENERIC:
            continue
        own = active.node is screen or active.node is app
        if not own and not binding.show:
            continue  # a widget's movement keys (up, page down...) are not commands
        slot = (id(active.node), binding.action)
        key = app.get_key_display(binding)
        if slot in found:
            known = found[slot]
            found[slot] = Action(known.title, f"{known.key}, {key}", known.node, known.action)
        else:
            found[slot] = Action(binding.description, key, active.node, binding.action)
    return sorted(found.values(), key=lambda a: a.title.lower())


class LedgerCommands(Provider):
    """Every action of the screen the palette was opened on."""

    async def discover(self) -> Hits:
        """All actions, for browsing."""
        for action in screen_actions(self.app, self.screen):
            yield DiscoveryHit(action.title, partial(_run, self.app, action), help=f"key: {action.key}")

    async def search(self, query: str) -> Hits:
        """Actions whose description matches."""
        matcher = self.matcher(query)
        for action in screen_actions(self.app, self.screen):
            score = matcher.match(action.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(action.title),
                    partial(_run, self.app, action),
                    help=f"key: {action.key}",
                )


async def _run(app: App[Any], action: Action) -> None:
    await app.run_action(action.action, default_namespace=action.node)
