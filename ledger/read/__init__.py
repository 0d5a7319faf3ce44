"""Reading the ledger: one SQL text, two ways to run it.

`filter_sql` compiles a filter, `listing` pages runs into summaries and `sql_dialect`
holds what SQLite and PostgreSQL spell differently. The standard library's sqlite3
runs that text for `ledger list` and the UI's first page (`sqlite_snapshot`,
`windows_sqlite`), without importing SQLAlchemy; SQLAlchemy runs the same text for
every other read (`queries`, `windows`; `filter_clause` puts a filter into a
statement of its own). `render` and `diff` present what they return.
"""
