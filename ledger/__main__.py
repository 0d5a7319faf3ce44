"""`python -m ledger`."""

from __future__ import annotations

from ledger.cli import main

raise SystemExit(main())
