"""The virtual runs table on its own: paging requests, cursor, marks, scrolling."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from textual.app import App

from ledger.tui.widgets.runs_table import RunsTable
from ledger.tui.widgets.table_model import Cell, Column, Row

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.message import Message

pytestmark = pytest.mark.tui


class TableApp(App[None]):
    """Just the table; records what it posts."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[Message] = []

    def compose(self) -> ComposeResult:
        yield RunsTable()

    def on_runs_table_page_needed(self, message: RunsTable.PageNeeded) -> None:
        self.posted.append(message)

    def on_runs_table_row_opened(self, message: RunsTable.RowOpened) -> None:
        self.posted.append(message)


def rows(start: int, count: int) -> list[Row]:
    return [Row(f"run{i}", (Cell(f"run {i}"),)) for i in range(start, start + count)]


async def test_asks_only_for_the_rows_on_screen():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RunsTable)
        table.columns = [Column("name", "NAME", 10)]
        table.reset(100_000, rows(0, 50))
        await pilot.pause()
        assert app.posted == []

        table.action_jump(-1)
        await pilot.pause()

        asked = [(m.offset, m.limit) for m in app.posted if isinstance(m, RunsTable.PageNeeded)]
        assert asked == [(99_950, 50)]
        assert table.cursor == 99_999
        assert table.cursor_key is None  # not loaded yet
        table.add_rows(99_950, rows(99_950, 50))
        assert table.cursor_key == "run99999"


async def test_end_scrolls_even_when_the_total_grew_in_the_same_frame():
    """The scrollbar state lags a total change until the next refresh; jumping must not."""
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RunsTable)
        table.columns = [Column("name", "NAME", 10)]
        table.reset(1, rows(0, 1))
        await pilot.pause()
        table.reset(50, rows(0, 50))
        table.total = 5000
        table.action_jump(-1)

        assert table.scroll_y > 4900


async def test_space_marks_and_moves_down_enter_opens():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RunsTable)
        table.columns = [Column("name", "NAME", 10)]
        table.reset(3, rows(0, 3))
        table.focus()
        await pilot.press("space", "space", "up", "space", "enter")

        assert table.marked == ("run0",)
        assert [m.key for m in app.posted if isinstance(m, RunsTable.RowOpened)] == ["run2"]


async def test_refresh_keeps_the_cursor_on_its_row():
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(RunsTable)
        table.columns = [Column("name", "NAME", 10)]
        table.reset(5, rows(0, 5))
        table.cursor = 2
        await pilot.pause()

        table.reset(6, [Row("new", (Cell("new"),)), *rows(0, 5)], keep_position=True)

        assert table.cursor == 3
        assert table.cursor_key == "run2"


def id_rows(start: int, ids: list[str]) -> list[Row]:
    return [Row(f"run{i}", (Cell(text, "id"), Cell(f"a long name {i}"))) for i, text in enumerate(ids, start)]


def drawn(table: RunsTable, index: int) -> str:
    return "".join(segment.text for segment in table.render_line(index + 1 - int(table.scroll_y)))


async def test_a_growing_column_shows_a_later_pages_longer_cell_whole():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(RunsTable)
        table.columns = [Column("id", "ID", 8, grow=True), Column("name", "NAME", 6)]
        table.reset(60, id_rows(0, [f"01a2{i:03x}" for i in range(50)]))
        await pilot.pause()
        assert [c.width for c in table.columns] == [8, 6]

        table.add_rows(
            50, id_rows(50, ["01a249069bf3a", "01a249069bf3b", *(f"01b{i:04x}" for i in range(8))])
        )
        table.action_jump(50)
        await pilot.pause()

        assert table.columns[0].width == 13
        assert drawn(table, 50).startswith("  01a249069bf3a a lon…")
        assert drawn(table, 51).startswith("  01a249069bf3b a lon…")
        assert drawn(table, 52).startswith("  01b0000       a lon…")

        table.reset(3, id_rows(0, ["01c0000", "01c0001", "01c0002"]))
        assert table.columns[0].width == 8
