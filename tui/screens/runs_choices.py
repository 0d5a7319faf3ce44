"""The runs screen's choices of order and columns, apart from its loading and paging."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from ledger.core.filters import Field, SortKey
from ledger.tui.screens.column_chooser import ColumnChooser
from ledger.tui.screens.run_actions import RunActionsScreen
from ledger.tui.screens.sort_picker import SortPicker
from ledger.tui.settings import UiSettings, save_settings
from ledger.tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from ledger.read.windows import KeyCatalog
    from ledger.tui.runs_loader import Query


class RunsChoicesScreen(RunActionsScreen):
    """Sort by any column, param or metric; choose the columns. Each choice asks the screen
    for a new query (`_new_query`), which `RunsScreen` runs."""

    sort: tuple[SortKey, ...]
    settings: UiSettings
    query_state: Query | None

    @property
    def table(self) -> RunsTable:
        """The runs table."""
        return self.query_one(RunsTable)

    def _new_query(self, *, keep_position: bool = False) -> None:
        raise NotImplementedError("RunsScreen runs the queries")

    def action_sort(self) -> None:
        """Choose the order: by any column shown, or by any param or metric of the ledger."""
        self._open_sort_picker()

    @work(thread=True, exclusive=True, group="catalog", exit_on_error=False)
    def _open_sort_picker(self) -> None:
        from ledger.read import windows as ui_queries  # SQLAlchemy: in workers, after the first paint

        catalog = ui_queries.key_catalog(self.store)
        self.app.call_from_thread(self._push_sort_picker, catalog)

    def _push_sort_picker(self, catalog: KeyCatalog) -> None:
        if self.query_state is None:
            return
        choices = self.query_state.columns.sort_choices(params=catalog.params, metrics=catalog.metrics)

        def chosen(key: str | None) -> None:
            if key == "":
                self._set_sort(())
            elif key is not None:
                self._sort_by_column(key)

        self.app.push_screen(
            SortPicker(choices, current=self.table.sort_key, descending=self.table.sort_descending), chosen
        )

    def action_reverse_sort(self) -> None:
        """Reverse the order (newest-first becomes oldest-first)."""
        if self.sort:
            key = self.sort[0]
            self._set_sort((SortKey(key.field, descending=not key.descending),))
        else:
            self._set_sort((SortKey(Field("run", "started"), descending=False),))

    def _sort_by_column(self, column: str) -> None:
        if self.query_state is None:
            return
        field = self.query_state.columns.sort_field(column)
        if field is None:
            self.notify(f"the {column} column cannot be sorted", severity="warning")
            return
        current = self.sort[0] if self.sort else None
        descending = current is not None and current.field == field and not current.descending
        self._set_sort((SortKey(field, descending=descending),))

    def _set_sort(self, sort: tuple[SortKey, ...]) -> None:
        self.sort = sort
        self._new_query()

    def action_columns(self) -> None:
        """Choose the columns (saved for next time)."""
        self._open_column_chooser()

    @work(thread=True, exclusive=True, group="catalog", exit_on_error=False)
    def _open_column_chooser(self) -> None:
        from ledger.read import windows as ui_queries  # SQLAlchemy: in workers, after the first paint

        catalog = ui_queries.key_catalog(self.store)
        self.app.call_from_thread(self._push_column_chooser, catalog)

    def _push_column_chooser(self, catalog: KeyCatalog) -> None:
        if self.query_state is None:
            return
        shown = self.query_state.columns

        def chosen(settings: UiSettings | None) -> None:
            if settings is None:
                return
            self.settings = settings
            try:
                save_settings(self.app.services.settings_path, settings)
            except OSError as e:
                self.notify(f"columns not saved: {e}", severity="error")
            self._new_query(keep_position=True)

        self.app.push_screen(ColumnChooser(self.settings, catalog, shown=shown), chosen)
