"""`ledger ui`: registers the subcommand; the Textual app is loaded only when it runs.

The UI lives in `ledger.tui` (the repository's `tui/` folder), a shell over the core:
it is imported by name at run time, so `ledger` itself carries no import of the UI
and `import ledger.cli.main` never loads Textual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

UI_MODULE = "ledger.tui.app"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ledger ui` to the CLI's subcommands."""
    p = sub.add_parser("ui", help="browse, filter, plot and diff runs in the terminal")
    p.add_argument(
        "filter", nargs="*", help="start with this filter, e.g. 'tag:baseline and metrics.acc > 0.9'"
    )
    p.set_defaults(func=cmd_ui)


def cmd_ui(args: argparse.Namespace) -> int:
    """Run the terminal UI until it quits."""
    app = importlib.import_module(UI_MODULE)
    code: int = app.launch(" ".join(args.filter))
    return code
