"""The `ledger` command line: argument parsing and one function per command, over the other packages."""
