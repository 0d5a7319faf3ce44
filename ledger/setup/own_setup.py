"""Tell the ledger's own uncommitted setup apart from the user's changes.

`ledger init` adds its hooks to `.pre-commit-config.yaml`. Until that is committed,
every run would be marked dirty because of a file that cannot change a result. A
run is not dirty when that file is the only change and differs from HEAD's version
exactly by our hooks: merging them into HEAD's version gives the file as it is. Any
other edit of the file, or of anything else, keeps the run dirty. The snapshot still
holds the file: it is the code the run saw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.core.errors import LedgerError
from ledger.git.command import git_bytes
from ledger.setup.hook_specs import HOOKS
from ledger.setup.precommit_config import CONFIG_NAME, plan_config

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.git.snapshot import WorkTree


def only_own_setup(root: Path, tree: WorkTree) -> bool:
    """Whether the ledger's hooks in `.pre-commit-config.yaml` are all that is uncommitted."""
    if (*tree.changed, *tree.untracked) != (CONFIG_NAME,):
        return False
    try:
        text = (root / CONFIG_NAME).read_bytes().decode()
    except (OSError, UnicodeDecodeError):
        return False
    ours = [h for h in HOOKS if h.id in text]
    if not ours:
        return False
    committed = None
    try:
        if tree.commit is not None and CONFIG_NAME in tree.changed:
            committed = git_bytes(
                "cat-file", "blob", f"{tree.commit}:{CONFIG_NAME}", cwd=root, scrub=True
            ).decode()
        plan = plan_config(committed, ours)
    except (LedgerError, UnicodeDecodeError):
        return False
    return plan.changed and plan.text == text
