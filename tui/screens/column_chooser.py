"""Choose the runs table's columns and the sparkline metric; saved in the ledger folder."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Select, SelectionList, Static

from ledger.tui.settings import BASE_COLUMNS, UiSettings

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from ledger.read.windows import KeyCatalog
    from ledger.tui.columns import ColumnSet

AUTO = "(automatic: the series most runs log)"


class ColumnChooser(ModalScreen[UiSettings | None]):
    """Tick columns; Save keeps the choice, Automatic goes back to the default choice."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    def __init__(self, settings: UiSettings, catalog: KeyCatalog, *, shown: ColumnSet) -> None:
        super().__init__()
        self._settings, self._catalog, self._shown = settings, catalog, shown

    def compose(self) -> ComposeResult:
        """Run columns, params, metrics, and the sparkline's series."""
        base = [(name, f"run:{name}", name in self._settings.base) for name in BASE_COLUMNS]
        params = [(f"params.{k}", f"params:{k}", k in self._shown.params) for k in self._catalog.params]
        metrics = [(f"metrics.{k}", f"metrics:{k}", k in self._shown.metrics) for k in self._catalog.metrics]
        series = [(k, k) for k in self._catalog.series]
        with Vertical(id="dialog", classes="-wide"):
            yield Static("Columns of the runs table", id="dialog-title")
            yield SelectionList[str](*base, *params, *metrics, id="column-list")
            yield Static("sparkline (CURVE) series:", classes="dialog-label")
            yield Select[str](
                series, value=self._settings.main_metric or Select.NULL, prompt=AUTO, id="main-metric"
            )
            with Horizontal(id="dialog-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Automatic", id="auto")
                yield Button("Cancel", id="cancel")
            yield Static(
                "space ticks · saved to ui.json in the ledger folder (ledger where)", id="dialog-help"
            )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Save, reset to automatic, or cancel."""
        if event.button.id == "save":
            self.action_save()
        elif event.button.id == "auto":
            self.dismiss(UiSettings())
        else:
            self.dismiss(None)

    def action_save(self) -> None:
        """Keep the ticked columns."""
        ticked = self.query_one(SelectionList).selected
        main = self.query_one(Select).value
        self.dismiss(
            UiSettings(
                base=tuple(b for b in BASE_COLUMNS if f"run:{b}" in ticked),
                params=tuple(t.removeprefix("params:") for t in ticked if t.startswith("params:")),
                metrics=tuple(t.removeprefix("metrics:") for t in ticked if t.startswith("metrics:")),
                main_metric=main if isinstance(main, str) else None,
            )
        )

    def action_cancel(self) -> None:
        """Change nothing."""
        self.dismiss(None)
