"""A virtual table: it holds only the rows near the viewport and asks for the rest by page.

The table knows how many rows exist (`total`) and draws placeholders for rows it
has not been given; when the viewport shows missing rows it posts `PageNeeded`,
and whoever owns the data answers with `add_rows`. A table of 100,000 runs thus
costs what its visible window costs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ledger.tui.widgets.runs_table_style import COMPONENT_CLASSES, RUNS_TABLE_CSS
from ledger.tui.widgets.table_model import Column, Row, fit

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from textual import events

PAGE = 50
"""Rows asked for at a time (a page is aligned to a multiple of this)."""

MAX_CACHED = 4_000
"""Rows kept in memory; those farthest from the viewport are dropped past this."""

MARK = "●"


class RunsTable(ScrollView, can_focus=True):
    """A scrollable table of rows fetched page by page, with a row cursor and marks."""

    DEFAULT_CSS = RUNS_TABLE_CSS
    COMPONENT_CLASSES: ClassVar[set[str]] = set(COMPONENT_CLASSES)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First run", show=False),
        Binding("end", "jump(-1)", "Last run", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
        Binding("enter", "open", "Open", show=True),
        Binding("space", "toggle_mark", "Mark", show=True),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)
    """Index of the highlighted row."""

    class PageNeeded(Message):
        """Rows [offset, offset + limit) are on screen but not loaded."""

        def __init__(self, table: RunsTable, offset: int, limit: int) -> None:
            super().__init__()
            self.table = table
            self.offset = offset
            self.limit = limit

        @property
        def control(self) -> RunsTable:
            """The table that asked."""
            return self.table

    class CursorMoved(Message):
        """The highlighted row changed; `key` is None until that row is loaded."""

        def __init__(self, table: RunsTable, index: int, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.key = key

        def can_replace(self, message: Message) -> bool:
            """Only the latest position matters when the cursor races down the table."""
            return isinstance(message, RunsTable.CursorMoved)

    class RowOpened(Message):
        """Enter (or a click on the highlighted row) on a loaded row."""

        def __init__(self, table: RunsTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

    class MarksChanged(Message):
        """The set of marked rows changed."""

        def __init__(self, table: RunsTable, keys: tuple[str, ...]) -> None:
            super().__init__()
            self.table = table
            self.keys = keys

    class SortRequested(Message):
        """A sortable column's header was clicked."""

        def __init__(self, table: RunsTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self._declared: tuple[Column, ...] = ()
        self._columns: tuple[Column, ...] = ()
        """The declared columns, `grow` ones widened to their longest loaded cell."""
        self._rows: dict[int, Row] = {}
        self._total = 0
        self._pending: tuple[int, int] | None = None
        self._marked: dict[str, None] = {}
        self.sort_key: str | None = None
        """Column key shown with a sort arrow."""
        self.sort_descending = False

    # -- data in -------------------------------------------------------------------

    @property
    def columns(self) -> tuple[Column, ...]:
        """The columns, left to right."""
        return self._columns

    @columns.setter
    def columns(self, columns: Sequence[Column]) -> None:
        self._declared = tuple(columns)
        # Until the next rows arrive, a growing column keeps its width (the loaded rows'
        # cells may be laid out for the old columns).
        before = {c.key: c.width for c in self._columns if c.grow}
        self._columns = tuple(
            replace(c, width=max(c.width, before[c.key])) if c.key in before and c.grow else c
            for c in self._declared
        )
        self._resize_virtual()
        self.refresh()

    @property
    def total(self) -> int:
        """How many rows the whole result has."""
        return self._total

    @total.setter
    def total(self, total: int) -> None:
        self._total = max(0, total)
        for index in [i for i in self._rows if i >= self._total]:
            del self._rows[index]
        self._resize_virtual()
        if self.cursor >= self._total:
            self.cursor = max(0, self._total - 1)
        self.refresh()
        self.call_after_refresh(self._request_missing)

    def reset(self, total: int, rows: Sequence[Row] = (), *, keep_position: bool = False) -> None:
        """Start over with a new result: `rows` are its first rows.

        With `keep_position` (the same query, refreshed) the cursor stays on the row
        it was on when that row is among `rows`, else at the same index.
        """
        previous = self.cursor_key if keep_position else None
        self._rows = dict(enumerate(rows))
        self._columns = _grown(self._declared, rows)
        self._pending = None
        self._total = max(total, len(rows))
        self._resize_virtual()
        if not keep_position:
            self.scroll_to(0, 0, animate=False, immediate=True, force=True)
            self.cursor = 0
        else:
            where = next((i for i, row in enumerate(rows) if row.key == previous), None)
            if where is not None and where != self.cursor:
                self.scroll_to(
                    y=max(0, self.scroll_y + where - self.cursor), animate=False, immediate=True, force=True
                )
            self.cursor = min(self.cursor if where is None else where, max(0, self._total - 1))
        self.refresh()
        self.call_after_refresh(self._request_missing)

    def add_rows(self, offset: int, rows: Sequence[Row]) -> None:
        """Rows of the current result, starting at `offset` (an answer to PageNeeded)."""
        for i, row in enumerate(rows, start=offset):
            if i < self._total:
                self._rows[i] = row
        columns = _grown(self._columns, rows)
        if columns != self._columns:
            self._columns = columns
            self._resize_virtual()
        if self._pending is not None and self._pending[0] == offset:
            self._pending = None
        self._evict()
        self.refresh()
        if offset <= self.cursor < offset + len(rows):
            self.post_message(self.CursorMoved(self, self.cursor, self.cursor_key))
        self.call_after_refresh(self._request_missing)

    def request_failed(self) -> None:
        """The owner could not load the last page asked for; ask again on the next scroll."""
        self._pending = None

    def row(self, index: int) -> Row | None:
        """The row at `index`, None when it is not loaded."""
        return self._rows.get(index)

    def loaded_keys(self) -> tuple[str, ...]:
        """Keys of the loaded rows, in order."""
        return tuple(self._rows[i].key for i in sorted(self._rows))

    # -- marks and cursor ------------------------------------------------------------

    @property
    def cursor_key(self) -> str | None:
        """Key of the highlighted row, None when it is not loaded (or there are no rows)."""
        row = self._rows.get(self.cursor)
        return None if row is None else row.key

    @property
    def marked(self) -> tuple[str, ...]:
        """Marked keys, in the order they were marked."""
        return tuple(self._marked)

    def clear_marks(self) -> None:
        """Unmark every row."""
        if self._marked:
            self._marked.clear()
            self.post_message(self.MarksChanged(self, ()))
            self.refresh()

    def unmark(self, keys: Sequence[str]) -> None:
        """Drop the marks of these rows (deleted runs)."""
        gone = set(keys)
        kept = {k: None for k in self._marked if k not in gone}
        if len(kept) != len(self._marked):
            self._marked = kept
            self.post_message(self.MarksChanged(self, self.marked))
            self.refresh()

    def action_toggle_mark(self) -> None:
        """Mark or unmark the highlighted row, then move down."""
        key = self.cursor_key
        if key is None:
            return
        if key in self._marked:
            del self._marked[key]
        else:
            self._marked[key] = None
        self.post_message(self.MarksChanged(self, self.marked))
        self.action_cursor(1)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by `delta` rows."""
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        """Move the cursor by one screenful."""
        self._move_to(self.cursor + direction * max(1, self._visible_rows() - 1))

    def action_jump(self, index: int) -> None:
        """Move to the first row (0) or the last (-1)."""
        self._move_to(index if index >= 0 else self._total - 1)

    def action_open(self) -> None:
        """Open the highlighted row."""
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowOpened(self, key))

    def watch_cursor(self, old: int, new: int) -> None:
        """Keep the cursor in view and tell the screen where it is."""
        visible = self._visible_rows()
        if new < self.scroll_y:
            self.scroll_to(y=new, animate=False, immediate=True, force=True)
        elif new >= self.scroll_y + visible:
            self.scroll_to(y=new - visible + 1, animate=False, immediate=True, force=True)
        self.refresh()
        self.post_message(self.CursorMoved(self, new, self.cursor_key))

    def _move_to(self, index: int) -> None:
        if self._total:
            self.cursor = min(max(0, index), self._total - 1)

    # -- events --------------------------------------------------------------------

    def watch_scroll_y(self, old: float, new: float) -> None:
        """Scrolling may reveal rows that are not loaded yet."""
        super().watch_scroll_y(old, new)
        self._request_missing()

    def on_resize(self, _event: events.Resize) -> None:
        """A taller table shows more rows."""
        self._request_missing()

    def on_click(self, event: events.Click) -> None:
        """A header click sorts; a row click highlights, a second click opens."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + int(self.scroll_x))
            if column is not None and column.sortable:
                self.post_message(self.SortRequested(self, column.key))
            return
        index = int(self.scroll_y) + offset.y - 1
        if index >= self._total:
            return
        if index == self.cursor or event.chain >= 2:
            self.cursor = index
            self.action_open()
        else:
            self.cursor = index

    # -- rendering ------------------------------------------------------------------

    def notify_style_update(self) -> None:
        """Component styles are cached per theme; drop the cache when CSS changes."""
        super().notify_style_update()
        self._rich_style_cache.clear()

    def render_line(self, y: int) -> Strip:
        """Line 0 is the header; the others show rows from the scroll position on."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        strip = self._header() if y == 0 else self._row(scroll_y + y - 1, base)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _header(self) -> Strip:
        style = self.get_component_rich_style("runs-table--header")
        segments = [Segment("  ", style)]
        for column in self._columns:
            label = column.label
            if column.key == self.sort_key:
                down = self.sort_descending != column.reverse_arrow
                label = f"{label} {'▼' if down else '▲'}"
            segments.append(Segment(fit(label, column.width, column.justify) + " ", style))
        return self._fill(segments, style)

    def _row(self, index: int, base: Style) -> Strip:
        if index >= self._total:
            return Strip.blank(self.virtual_size.width, base)
        row = self._rows.get(index)
        overlay = Style()
        if row is not None and row.key in self._marked:
            overlay += self.get_component_rich_style("runs-table--marked", partial=True)
        if index == self.cursor:
            overlay += self.get_component_rich_style("runs-table--cursor", partial=True)
        line_style = base + overlay
        if row is None:
            muted = self.get_component_rich_style("runs-table--placeholder", partial=True)
            return self._fill([Segment("  …", base + muted + overlay)], line_style)
        marked = row.key in self._marked
        mark_style = self.get_component_rich_style("runs-table--mark", partial=True)
        segments = [Segment(f"{MARK} " if marked else "  ", base + mark_style + overlay)]
        dim = self.get_component_rich_style("runs-table--dim", partial=True) if row.dim else Style()
        for column, cell in zip(self._columns, row.cells, strict=False):
            style = base
            if cell.style:
                style += self.get_component_rich_style(f"runs-table--{cell.style}", partial=True)
            segments.append(
                Segment(fit(cell.text, column.width, column.justify) + " ", style + dim + overlay)
            )
        return self._fill(segments, line_style)

    def _fill(self, segments: list[Segment], style: Style) -> Strip:
        width = max(self.virtual_size.width, self.scrollable_content_region.width)
        strip = Strip(segments)
        return strip.extend_cell_length(width, style)

    # -- helpers --------------------------------------------------------------------

    def _resize_virtual(self) -> None:
        width = 2 + sum(c.width + 1 for c in self._columns)
        self.virtual_size = Size(width, self._total + 1)

    def _visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _column_at(self, x: int) -> Column | None:
        left = 2
        for column in self._columns:
            if left <= x < left + column.width + 1:
                return column
            left += column.width + 1
        return None

    def _request_missing(self) -> None:
        if not self._total or not self.is_mounted:
            return
        first = int(self.scroll_y)
        last = min(self._total, first + self._visible_rows() + 1)
        missing = [i for i in range(first, last) if i not in self._rows]
        if not missing:
            return
        start = missing[0] // PAGE * PAGE
        end = min(self._total, -(-(missing[-1] + 1) // PAGE) * PAGE)
        wanted = (start, end - start)
        pending = self._pending
        if pending is not None and pending[0] <= start and end <= pending[0] + pending[1]:
            return
        self._pending = wanted
        self.post_message(self.PageNeeded(self, *wanted))

    def _evict(self) -> None:
        if len(self._rows) <= MAX_CACHED:
            return
        middle = int(self.scroll_y) + self._visible_rows() // 2
        for index in sorted(self._rows, key=lambda i: abs(i - middle))[MAX_CACHED:]:
            del self._rows[index]


def _grown(columns: tuple[Column, ...], rows: Iterable[Row]) -> tuple[Column, ...]:
    """`columns` with each `grow` column as wide as its longest cell among `rows`."""
    growing = [i for i, c in enumerate(columns) if c.grow]
    if not growing:
        return columns
    widths = {i: columns[i].width for i in growing}
    for row in rows:
        for i in growing:
            if i < len(row.cells):
                widths[i] = max(widths[i], cell_len(row.cells[i].text))
    return tuple(replace(c, width=widths[i]) if i in widths else c for i, c in enumerate(columns))
