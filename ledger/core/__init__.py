"""What every other package stands on: records, IDs, errors, config, the filter language, verdicts.

The standard library only, and nothing from the rest of `ledger`: an import-linter contract holds it."""
