"""Where the runs table's rows are read from: the store (SQLAlchemy), or for the first page
of `ledger ui`, a read transaction on the SQLite file through the stdlib.

Both answer the same six questions; `RowSource` asks them without knowing which
it holds. `StoreReader` imports `ledger.read.windows` (and so SQLAlchemy) on its
first read, in a worker thread, never while the first page is painted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ledger.read import windows_sqlite

if TYPE_CHECKING:
    import sqlite3
    from collections import Counter
    from collections.abc import Sequence

    from ledger.core.filters import Expr, SortKey
    from ledger.read.windows_sqlite import ChangeMarker, Page
    from ledger.tui.services import StoreHandle


class RunReader(Protocol):
    """The reads one window of the runs table needs."""

    def page(
        self,
        *,
        where: Expr | None,
        sort: Sequence[SortKey],
        offset: int,
        limit: int,
        params: Sequence[str],
        metrics: Sequence[str],
        include_archived: bool,
    ) -> Page: ...

    def sparklines(self, run_ids: Sequence[str], key: str, *, width: int) -> dict[str, tuple[float, ...]]: ...

    def series_counts(self, run_ids: Sequence[str]) -> Counter[str]: ...

    def count_matching(self, *, where: Expr | None, include_archived: bool) -> int: ...

    def count_all(self) -> int: ...

    def marker(self) -> ChangeMarker: ...


class StoreReader:
    """Reads through the store, opened on the first read."""

    def __init__(self, handle: StoreHandle) -> None:
        self.handle = handle

    def page(
        self,
        *,
        where: Expr | None,
        sort: Sequence[SortKey],
        offset: int,
        limit: int,
        params: Sequence[str],
        metrics: Sequence[str],
        include_archived: bool,
    ) -> Page:
        """`windows.list_page`."""
        from ledger.read import windows

        return windows.list_page(
            self.handle.get(), where=where, sort=sort, offset=offset, limit=limit,
            params=params, metrics=metrics, include_archived=include_archived,
        )  # fmt: skip

    def sparklines(self, run_ids: Sequence[str], key: str, *, width: int) -> dict[str, tuple[float, ...]]:
        """`windows.sparklines`."""
        from ledger.read import windows

        return windows.sparklines(self.handle.get(), run_ids, key, width=width)

    def series_counts(self, run_ids: Sequence[str]) -> Counter[str]:
        """`windows.series_counts`."""
        from ledger.read import windows

        return windows.series_counts(self.handle.get(), run_ids)

    def count_matching(self, *, where: Expr | None, include_archived: bool) -> int:
        """`windows.count_matching`."""
        from ledger.read import windows

        return windows.count_matching(self.handle.get(), where=where, include_archived=include_archived)

    def count_all(self) -> int:
        """The ledger's run count, from its change marker."""
        from ledger.read import windows

        return windows.change_marker(self.handle.get()).count

    def marker(self) -> ChangeMarker:
        """`windows.change_marker`."""
        from ledger.read import windows

        return windows.change_marker(self.handle.get())


class SnapshotReader:
    """Reads inside one stdlib read transaction (`sqlite_snapshot.snapshot`): the first page only."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def page(
        self,
        *,
        where: Expr | None,
        sort: Sequence[SortKey],
        offset: int,
        limit: int,
        params: Sequence[str],
        metrics: Sequence[str],
        include_archived: bool,
    ) -> Page:
        """`windows_sqlite.first_page`.

        Raises:
            ValueError: a later page, or archived runs, were asked for (the store reads those).
        """
        if offset or include_archived:
            raise ValueError("the stdlib path reads only the first page of unarchived runs")
        return windows_sqlite.first_page(
            self.conn, where=where, sort=sort, limit=limit, params=params, metrics=metrics
        )

    def sparklines(self, run_ids: Sequence[str], key: str, *, width: int) -> dict[str, tuple[float, ...]]:
        """`windows_sqlite.sparklines`."""
        return windows_sqlite.sparklines(self.conn.execute, run_ids, key, width=width)

    def series_counts(self, run_ids: Sequence[str]) -> Counter[str]:
        """`windows_sqlite.series_counts`."""
        return windows_sqlite.series_counts(self.conn.execute, run_ids)

    def count_matching(self, *, where: Expr | None, include_archived: bool) -> int:
        """`windows_sqlite.count_matching` (unarchived runs only, as `page`)."""
        if include_archived:
            raise ValueError("the stdlib path counts only unarchived runs")
        return windows_sqlite.count_matching(self.conn, where=where)

    def count_all(self) -> int:
        """`windows_sqlite.count_all`."""
        return windows_sqlite.count_all(self.conn)

    def marker(self) -> ChangeMarker:
        """`windows_sqlite.change_marker`."""
        return windows_sqlite.change_marker(self.conn.execute)
