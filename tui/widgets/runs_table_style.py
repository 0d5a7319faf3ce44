"""How the runs table looks: its styles, one component class per kind of cell.

Apart from `runs_table`, whose subject is what the table holds and how it pages.
"""

from __future__ import annotations

from ledger.tui.widgets.table_model import CELL_STYLES

RUNS_TABLE_CSS = """
RunsTable {
    background: $surface;
    scrollbar-gutter: stable;
    & > .runs-table--header { text-style: bold; color: $text-accent; background: $panel; }
    & > .runs-table--cursor { background: $block-cursor-blurred-background; }
    &:focus > .runs-table--cursor { background: $block-cursor-background; text-style: bold; }
    & > .runs-table--marked { background: $accent 25%; }
    & > .runs-table--mark { color: $accent; text-style: bold; }
    & > .runs-table--placeholder { color: $text-disabled; }
    & > .runs-table--dim { color: $text-disabled; text-style: italic; }
    & > .runs-table--status-running { color: $warning; text-style: bold; }
    & > .runs-table--status-finished { color: $success; }
    & > .runs-table--status-failed { color: $error; text-style: bold; }
    & > .runs-table--status-crashed { color: $error; text-style: bold italic; }
    & > .runs-table--status-interrupted { color: $warning; }
    & > .runs-table--muted { color: $text-muted; }
    & > .runs-table--id { color: $text-secondary; }
    & > .runs-table--tags { color: $text-accent; }
    & > .runs-table--spark { color: $secondary; }
    & > .runs-table--number { }
    & > .runs-table--warning { color: $warning; }
}
"""

COMPONENT_CLASSES = frozenset(
    {
        "runs-table--header",
        "runs-table--cursor",
        "runs-table--marked",
        "runs-table--mark",
        "runs-table--placeholder",
        "runs-table--dim",
        *(f"runs-table--{s}" for s in CELL_STYLES),
    }
)
"""The parts `RUNS_TABLE_CSS` styles that are not widgets: header, cursor, marks, cells."""
