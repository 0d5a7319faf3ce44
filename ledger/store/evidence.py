"""The content digest of a run's captured record: what `ledger sync` checks a copy against.

Taken when the run ends and stored with it (`runs.digest`). A sync that brings a
different content for a run the target holds as ended is refused for that run
(`ledger.store.transfer`): the digest of what the source brings is computed from its
rows, never read from its `digest` column, which a doctored copy could set at will.

The record is the run row and its params, final metrics, series, data hashes,
outputs and log. Annotations (tags, note, archive mark, commit links) are not part of
it: a writer may add them to any run, ended or not. Nor are the run's owner (each
ledger's server sets its own) and its last heartbeat (a liveness signal).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

RECORD_ROW_TABLES = ("params", "metrics", "data_refs", "outputs", "logs")
"""Per-run tables of the record, besides the run row and its series."""

NOT_RECORD_COLUMNS = frozenset({"note", "archived", "owner", "digest", "heartbeat_at"})
"""Run columns outside the record (see the module docstring)."""


def is_ended(status: str | None) -> bool:
    """Whether a run's record is sealed (a crash found by a reaper is an end too)."""
    return status is not None and status != "running"


def record_digest(
    run: Mapping[str, Any],
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    series: Mapping[str, Sequence[tuple[int, int, int, str, bytes]]],
) -> str:
    """SHA-256 of a run's record in a canonical form.

    Rows are sorted, so the order a database returns them in does not matter; chunks
    too (a merge may have added some after others), each standing for its points.
    """
    canonical = {
        "run": {k: _plain(v) for k, v in sorted(run.items()) if k not in NOT_RECORD_COLUMNS},
        "rows": {
            name: sorted(
                json.dumps({k: _plain(v) for k, v in sorted(r.items()) if k != "run_id"})
                for r in rows.get(name, ())
            )
            for name in RECORD_ROW_TABLES
        },
        "series": {
            key: sorted(
                [count, first, last, codec, hashlib.sha256(bytes(payload)).hexdigest()]
                for count, first, last, codec, payload in chunks
            )
            for key, chunks in sorted(series.items())
        },
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def _plain(value: object) -> object:
    """A column value as JSON holds it exactly (binary as its hash)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    return value
