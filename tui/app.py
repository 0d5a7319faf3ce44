"""`ledger ui`: the Textual app, and its entry point `main(argv) -> int`.

The app gets everything it uses through `LedgerApp(services)` (store, repository,
settings file, clock), so tests build it against a seeded ledger and a frozen clock.
"""

from __future__ import annotations

import argparse
import time
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from ledger.core.error_handler import Exit, error_handler
from ledger.core.urls import sqlite_file
from ledger.store.workspace import locate, open_store
from ledger.tui.app_base import AppBase
from ledger.tui.commands import LedgerCommands, screen_actions
from ledger.tui.readers import StoreReader
from ledger.tui.runs_loader import Prefetch, RowSource, first_query, read_first
from ledger.tui.screens.help import HelpScreen
from ledger.tui.screens.no_ledger import NoLedgerScreen
from ledger.tui.screens.runs import RunsScreen
from ledger.tui.services import Services, StoreHandle, SubjectCache
from ledger.tui.settings import FILENAME, load_settings

if TYPE_CHECKING:
    from collections.abc import Sequence


class LedgerApp(AppBase):
    """Browse, filter, plot, diff and act on the runs of one ledger."""

    CSS_PATH = "app.tcss"
    TITLE = "exp-ledger"
    COMMANDS: ClassVar = App.COMMANDS | {LedgerCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def on_mount(self) -> None:
        """The runs, or how to start when there is no ledger yet."""
        self.push_screen(NoLedgerScreen() if self.ledger.empty else RunsScreen(self.initial_filter))

    def action_help(self) -> None:
        """Keys of the current screen, and the filter language."""
        if isinstance(self.screen, HelpScreen):
            return
        keys = [(a.key, a.title) for a in screen_actions(self, self.screen)]
        title = (self.screen.id or "screen").removesuffix("-screen")
        self.push_screen(HelpScreen(keys, title=title, filters=isinstance(self.screen, RunsScreen)))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `ledger ui [FILTER...]` (also `python -m ledger.tui`)."""
    parser = argparse.ArgumentParser(prog="ledger ui", description="Browse, filter, plot and diff runs.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        with error_handler():
            return launch(" ".join(args.filter))
    except Exit as e:
        return e.code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `ledger ui` (shared with the CLI's subcommand)."""
    parser.add_argument(
        "filter", nargs="*", help="start with this filter, e.g. 'tag:baseline and metrics.acc > 0.9'"
    )


def launch(filter_text: str = "") -> int:
    """Open this directory's ledger (if there is one yet) and run the app until it quits.

    Raises:
        LedgerError: no ledger can be located (outside a repository without LEDGER_URL),
            or it cannot be opened.
    """
    app = LedgerApp(open_services(filter_text), initial_filter=filter_text)
    app.run()
    return app.return_code or 0


def open_services(filter_text: str = "") -> Services:
    """This directory's ledger, with the runs screen's first page read (or reading).

    A SQLite ledger that needs no write first gives its first page through the stdlib
    and is opened, importing SQLAlchemy, only when a worker needs it after the first
    paint, which must come within a second. Any other ledger is opened here, so an
    error opening it is one line before the app starts.

    Raises:
        LedgerError: no ledger can be located, or it cannot be opened.
    """
    ws = locate()
    ledger_file = sqlite_file(ws.url)
    root = None if ws.repo is None else ws.repo.toplevel
    settings_path = ws.spool_dir.parent / FILENAME
    subjects = SubjectCache()
    store = prefetch = opener = None
    if ledger_file is None or ledger_file.exists():
        query = first_query(load_settings(settings_path), filter_text)
        handle = StoreHandle(opener=partial(open_store, ws))
        source = RowSource(StoreReader(handle), root, time.time, subjects)
        ready = read_first(ws, query, source)
        if ready is not None:
            opener = handle.get  # SQLAlchemy is imported after the first paint
        else:
            store = handle.get()  # errors opening the ledger are reported before the app starts
        prefetch = Prefetch(query, ready=ready, source=source)
    return Services(
        store=store,
        root=root,
        workspace=ws,
        settings_path=settings_path,
        ledger_file=ledger_file,
        subjects=subjects,
        prefetch=prefetch,
        open_store=opener,
    )
