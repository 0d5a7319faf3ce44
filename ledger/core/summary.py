"""One row of `ledger list`, apart from the other records: the listing's stdlib path
(`ledger.read.listing`) builds these without importing `ledger.core.records`, whose many
dataclasses cost `ledger list` a noticeable share of its start, measured against `dvc exp show`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.core.ids import RunId
    from ledger.core.param_values import ParamValue


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One row of `ledger list`: the run plus the params and metrics asked for."""

    id: RunId
    short_id: str
    name: str | None
    status: str
    source: str
    started_at: float
    ended_at: float | None
    exit_code: int | None
    commit: str | None
    branch: str | None
    dirty: bool | None
    tags: tuple[str, ...]
    params: dict[str, ParamValue] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    run_folders: tuple[str, ...] = ()
    """Folders the run made and wrote into: a param holding a path inside one is no
    difference from another run's (`ledger.core.comparable`)."""

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, None while running."""
        return None if self.ended_at is None else self.ended_at - self.started_at
