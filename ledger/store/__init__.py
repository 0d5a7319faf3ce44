"""The ledger database: engine and schema upgrades, rows, writes, annotations, copies between ledgers."""
