"""The pre-commit config the ledger's own git hook types run from, when the project's
`.pre-commit-config.yaml` names hook repositories that pre-commit must download.

pre-commit fetches every remote repository of its config before it runs any hook,
whatever the stage. Offline, with repositories it has not cached (a new clone, a new
machine, CI), `prepare-commit-msg` would then fail and stop every commit, and the
post-commit hook would never record one. The ledger's stages (post-commit,
prepare-commit-msg, post-rewrite) rarely hold anyone else's hooks, so `ledger init`
installs those git hooks to run from a copy of the config without the downloads: its
`local` and `meta` hooks, and the remote repositories whose entry puts a hook at one
of those stages. The `pre-commit` stage always runs from the project's config.
"""

from __future__ import annotations

import io
import shlex
from typing import TYPE_CHECKING

from ledger.errors import InstallError
from ledger.precommit_config import CONFIG_NAME

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from pathlib import Path

    from ledger.hook_specs import HookSpec

FILE_NAME = "pre-commit-config.yaml"
"""In the ledger's folder of the git common dir, beside the ledger."""
SHARED_TYPES = frozenset({"pre-commit"})
"""Git hook types the project's own hooks use: never moved to the copy."""
_NO_DOWNLOAD = frozenset({"local", "meta"})
_HEADER = (
    "# Written by `ledger init` from .pre-commit-config.yaml, without the hook repositories\n"
    "# pre-commit would have to download: the ledger's git hooks run from it, so commits\n"
    "# work offline. `ledger init` rewrites it; do not edit.\n"
)


def path_in(ledger_dir: Path) -> Path:
    """Where the copy lives."""
    return ledger_dir / FILE_NAME


def offline_config(text: str, hook_types: Collection[str]) -> str | None:
    """The copy for `hook_types`, or None when the config needs no download (it is used).

    Raises:
        InstallError: the config is not YAML (`plan_config` has said so already).
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load(text)
    except YAMLError as e:
        raise InstallError(f".pre-commit-config.yaml is not valid YAML: {e}") from e
    repos = data.get("repos") if isinstance(data, dict) else None
    if not isinstance(repos, list):
        return None
    if all(isinstance(r, dict) and r.get("repo") in _NO_DOWNLOAD for r in repos):
        return None
    kept = [r for r in repos if isinstance(r, dict) and _runs_offline_or_at(r, hook_types)]
    data = {k: v for k, v in data.items() if k != "repos"} | {"repos": kept}
    out = io.StringIO()
    yaml.default_flow_style = False
    yaml.dump(data, out)
    return _HEADER + out.getvalue()


def _runs_offline_or_at(repo: dict[str, object], hook_types: Collection[str]) -> bool:
    if repo.get("repo") in _NO_DOWNLOAD:
        return True
    hooks = repo.get("hooks")
    return isinstance(hooks, list) and any(
        isinstance(h, dict) and isinstance(h.get("stages"), list) and set(h["stages"]) & set(hook_types)
        for h in hooks
    )


def plan_copy(ledger_dir: Path, hooks: Sequence[HookSpec], text: str) -> tuple[str | None, dict[str, str]]:
    """The copy's text (None if the config needs no download) and, for each git hook
    type of `hooks`, the config it runs from (as `pre-commit install --config` takes it)."""
    types = list(dict.fromkeys(h.stage for h in hooks))
    own = [t for t in types if t not in SHARED_TYPES]
    copy = offline_config(text, own) if own else None
    path = str(path_in(ledger_dir))
    return copy, {t: path if copy is not None and t in own else CONFIG_NAME for t in types}


def write_copy(ledger_dir: Path, copy: str | None) -> list[str]:
    """Write the copy (or remove one no longer needed); returns what was done."""
    path = path_in(ledger_dir)
    if copy is None:
        path.unlink(missing_ok=True)
        return []
    if path.is_file() and path.read_bytes() == copy.encode():
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(copy.encode())
    return [f"wrote {path}: the ledger's git hooks run from it, without hook repositories to download"]


def pin_config(script: Path, config: str) -> None:
    """Give pre-commit's hook script the copy's absolute path.

    `pre-commit install` stores the config relative to the work tree's top, which
    holds `.git/ledger/` only in the main work tree: the hooks of a linked work tree
    would not find the copy.
    """
    lines = script.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("ARGS=("):
            args = shlex.split(line.strip().removeprefix("ARGS=(").removesuffix(")"))
            args = [f"--config={config}" if a.startswith("--config=") else a for a in args]
            lines[i] = f"ARGS=({shlex.join(args)})\n"
    script.write_text("".join(lines))
