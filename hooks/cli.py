"""Dispatch `ledger-hook <name> [args]` to one hook's `main(argv) -> int`."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

HOOK_MODULES = {
    "post-commit": "ledger.hooks.post_commit",
    "prepare-commit-msg": "ledger.hooks.prepare_commit_msg",
    "post-rewrite": "ledger.hooks.post_rewrite",
    "check-results": "ledger.hooks.check_results",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the named hook; an unknown name is a usage error (exit 2), never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in HOOK_MODULES:
        print(f"usage: ledger-hook {{{','.join(HOOK_MODULES)}}} [args...]", file=sys.stderr)
        return 2
    module = importlib.import_module(HOOK_MODULES[args[0]])
    code: int = module.main(args[1:])
    return code
