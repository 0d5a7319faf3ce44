"""Where the ledger keeps its refs in a user's repository.

All of them sit under one namespace of their own, so that one refspec moves them
between clones and no branch or tag of the user's can collide with them.
"""

from __future__ import annotations

NAMESPACE = "refs/ledger/"
"""Every ref the ledger writes is under this."""

SNAPSHOT_REF_PREFIX = f"{NAMESPACE}runs/"
"""A run's code snapshot is kept reachable (safe from `git gc`) as this plus the run's ID."""

REF_SPEC = f"{NAMESPACE}*:{NAMESPACE}*"
"""Every ledger ref, mapped to itself: what `ledger sync --git-remote` pushes or fetches,
and what a teammate fetches to get the code of runs made elsewhere."""


def snapshot_ref(run_id: str) -> str:
    """The ref that keeps run `run_id`'s code snapshot."""
    return f"{SNAPSHOT_REF_PREFIX}{run_id}"
