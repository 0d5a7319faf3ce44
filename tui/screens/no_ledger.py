"""Shown when the repository has no ledger yet: how to start, and a wait for the first run."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Static

from ledger.core.errors import LedgerError
from ledger.core.urls import sqlite_url
from ledger.tui.app_base import AppBase
from ledger.tui.screens.runs import RunsScreen
from ledger.tui.services import StoreHandle

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from ledger.store.engine import Store


WELCOME = """\
No ledger here yet.

exp-ledger records every training run of this repository. To start:

  ledger run -- python train.py      record one run (code, data, params, metrics, logs)
  ledger init                        record commits that change params or metrics, via git hooks
  ledger backfill                    record the results already in your git history

This screen opens the ledger by itself as soon as the first run lands.
"""


class NoLedgerScreen(Screen[None]):
    """Explains how to start, and waits for the ledger file to appear."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "app.quit", "Quit")]

    def compose(self) -> ComposeResult:
        """The welcome text, centred."""
        with Middle(), Center():
            yield Static(WELCOME, id="welcome", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Check for the ledger every second."""
        self.set_interval(self._app.services.poll_interval, self._check)

    @property
    def _app(self) -> AppBase:
        app = self.app
        if not isinstance(app, AppBase):
            raise TypeError("NoLedgerScreen runs inside LedgerApp")
        return app

    def _check(self) -> None:
        path = self._app.services.ledger_file
        if path is not None and path.exists():
            self._open()

    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def _open(self) -> None:
        from ledger.store.engine import connect  # SQLAlchemy: only once the first run made the ledger

        path = self._app.services.ledger_file
        if path is None:
            return
        try:
            store = connect(sqlite_url(path))
        except LedgerError:
            return  # still being created by the first run; the next tick tries again
        self.app.call_from_thread(self._opened, store)

    def _opened(self, store: Store) -> None:
        """The first run created the ledger: show it."""
        app = self._app
        app.ledger = StoreHandle(store)
        app.switch_screen(RunsScreen(app.initial_filter))
