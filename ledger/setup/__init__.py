"""`ledger init` and `ledger doctor`: the git hooks, the pre-commit config, recovery of what went wrong."""
