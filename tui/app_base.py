"""The app as its screens see it: its services, the ledger, the commit subjects.

Screens type against `AppBase`, and `ledger.tui.app.LedgerApp` extends it with the
bindings and the first screen: the app imports its screens, never the reverse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

from ledger.tui.services import Services, StoreHandle

if TYPE_CHECKING:
    from ledger.store.engine import Store


class AppBase(App[None]):
    """One ledger's state, shared by every screen of the app."""

    def __init__(self, services: Services, *, initial_filter: str = "") -> None:
        super().__init__()
        self.services = services
        self.ledger = StoreHandle(services.store, opener=services.open_store)
        """The ledger, opened on first use (empty until there is one)."""
        self.initial_filter = initial_filter
        self.subjects = services.subjects
        """Commit subjects, shared by every screen and kept for the session."""

    @property
    def store(self) -> Store:
        """The open ledger; the first call opens it, so only workers call this.

        Raises:
            LedgerError: there is no ledger yet, or it cannot be opened.
        """
        return self.ledger.get()

    def on_unmount(self) -> None:
        """Close the ledger's connections."""
        self.ledger.close()
