"""Messages workers post when they finish: plain records travel up, never widgets.

Each worker ends by posting one of these to its screen (`post_message` is
thread-safe); the screen then updates its widgets on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ledger.core.chunks import Points
    from ledger.core.lockfile import Environment
    from ledger.core.records import RunDetail
    from ledger.core.verdict import ReproductionLink
    from ledger.git.display import CodePatch
    from ledger.read.diff import RunsDiff
    from ledger.read.windows import LogText
    from ledger.read.windows_sqlite import ChangeMarker
    from ledger.tui.widgets.table_model import Row


@dataclass
class ColumnsResolved(Message):
    """The automatic column choice, made from the first page of runs."""

    generation: int
    params: tuple[str, ...]
    metrics: tuple[str, ...]
    main_metric: str | None


@dataclass
class PageLoaded(Message):
    """Rows of the runs table, for query `generation`, from `offset` on."""

    generation: int
    offset: int
    rows: tuple[Row, ...]
    first: bool
    """The first page of a new query (the table starts over)."""
    complete: bool
    """Fewer rows came than were asked for: the result ends here."""
    archived: frozenset[str] = frozenset()
    """Archived runs among the rows (shown only when asked for)."""


@dataclass
class CountLoaded(Message):
    """How many runs the query matches."""

    generation: int
    total: int
    everything: int | None = None
    """Runs in the whole ledger, counted when the query matched none ("no runs yet"
    reads differently from "none match")."""


@dataclass
class LedgerPolled(Message):
    """The ledger's fingerprint, checked every second."""

    marker: ChangeMarker

    def can_replace(self, message: Message) -> bool:
        """Only the newest fingerprint matters."""
        return isinstance(message, LedgerPolled)


@dataclass
class RunsEdited(Message):
    """Runs were tagged, noted, archived or deleted: whatever shows them reloads."""

    summary: str
    """One line for a notification."""
    deleted: tuple[str, ...] = ()
    """Runs that no longer exist (their marks go)."""


@dataclass
class WorkFailed(Message):
    """A worker met a problem the user should read (shown as a notification)."""

    text: str


@dataclass
class DetailLoaded(Message):
    """Everything about one run, for the detail screen."""

    detail: RunDetail
    reproductions: tuple[ReproductionLink, ...]


@dataclass
class SeriesLoaded(Message):
    """A run's metric series; `problems` holds series that could not be read."""

    series: dict[str, Points]
    problems: dict[str, str]


@dataclass
class EnvironmentLoaded(Message):
    """The run's environment lockfile (None: not recorded) or why it is unreadable."""

    environment: Environment | None
    problem: str | None = None


@dataclass
class PatchLoaded(Message):
    """The run's code snapshot against its commit."""

    patch: CodePatch


@dataclass
class LogLoaded(Message):
    """The run's captured output."""

    log: LogText


@dataclass
class WorkspaceChecked(Message):
    """Whether the workspace holds each data path's recorded hash right now."""

    matches: dict[str, bool | None]
    problem: str | None = None


@dataclass
class DiffLoaded(Message):
    """The comparison of the marked runs, with their common series for overlays."""

    diff: RunsDiff
    series: dict[str, list[tuple[str, Points]]]
    """Series key -> (run label, points) per run."""
