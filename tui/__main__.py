"""`python -m ledger.tui`: the terminal UI on its own (as `ledger ui`)."""

from __future__ import annotations

from ledger.tui.app import main

raise SystemExit(main())
