"""`python -m ledger`."""

from __future__ import annotations

from ledger.cli.main import main

raise SystemExit(main())
