"""`python -m ledger.hooks <hook> [args]`: what every installed git hook runs."""

from __future__ import annotations

from ledger.hooks.cli import main

raise SystemExit(main())
