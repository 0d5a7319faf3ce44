"""`ledger ui`: the Textual app, and its entry point `main(argv) -> int`.

The app gets everything it uses through `LedgerApp(services)` (store, repository,
settings file, clock), so tests build it against a seeded ledger and a frozen clock.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType

from ledger.error_handler import Exit, error_handler
from ledger.tui.commands import LedgerCommands, screen_actions
from ledger.tui.services import Services

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.store import Store


class LedgerApp(App[None]):
    """Browse, filter, plot, diff and act on the runs of one ledger."""

    CSS_PATH = "app.tcss"
    TITLE = "exp-ledger"
    COMMANDS: ClassVar = App.COMMANDS | {LedgerCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, services: Services, *, initial_filter: str = "") -> None:
        super().__init__()
        self.services = services
        self.store: Store | None = services.store
        self.initial_filter = initial_filter
        self.subjects = services.subjects
        """Commit subjects, shared by every screen and kept for the session."""

    def on_mount(self) -> None:
        """The runs, or how to start when there is no ledger yet."""
        from ledger.tui.screens.no_ledger import NoLedgerScreen
        from ledger.tui.screens.runs import RunsScreen

        self.push_screen(NoLedgerScreen() if self.store is None else RunsScreen(self.initial_filter))

    def ledger_opened(self, store: Store) -> None:
        """The first run created the ledger: show it."""
        from ledger.tui.screens.runs import RunsScreen

        self.store = store
        self.switch_screen(RunsScreen(self.initial_filter))

    def on_unmount(self) -> None:
        """Close the ledger's connections."""
        if self.store is not None:
            self.store.close()

    def action_help(self) -> None:
        """Keys of the current screen, and the filter language."""
        from ledger.tui.screens.help import HelpScreen
        from ledger.tui.screens.runs import RunsScreen

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
    from ledger.tui.services import SubjectCache
    from ledger.tui.settings import FILENAME, load_settings
    from ledger.workspace import locate, open_store

    ws = locate()
    ledger_file = Path(ws.url.removeprefix("sqlite:///")) if ws.url.startswith("sqlite:///") else None
    store = None if ledger_file is not None and not ledger_file.exists() else open_store(ws)
    root = None if ws.repo is None else ws.repo.toplevel
    settings_path = ws.spool_dir.parent / FILENAME
    subjects = SubjectCache()
    prefetch = None
    if store is not None:
        from ledger.tui.runs_loader import Prefetch, RowSource, first_query

        source = RowSource(store, root, time.time, subjects)
        prefetch = Prefetch(source, first_query(load_settings(settings_path), filter_text))
    services = Services(
        store=store,
        root=root,
        workspace=ws,
        settings_path=settings_path,
        ledger_file=ledger_file,
        subjects=subjects,
        prefetch=prefetch,
    )
    app = LedgerApp(services, initial_filter=filter_text)
    app.run()
    return app.return_code or 0
