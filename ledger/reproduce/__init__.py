"""`ledger reproduce`: rebuild a past run's code, data and environment, re-run it, judge the result."""
