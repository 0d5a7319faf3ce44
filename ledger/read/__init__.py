"""Every read of the ledger: listings and filters, a run's detail, diffs, and their rendering."""
