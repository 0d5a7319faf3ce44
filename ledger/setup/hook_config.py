"""The pre-commit config each of the ledger's git hooks hands over to, if any.

The git hooks `ledger init` installs run the ledger's own hook directly: pre-commit's
start-up costs far more than the hook's work, and pre-commit fetches every hook
repository of the config before it runs any hook, so offline, on a new clone, every
commit would stop. Only when `.pre-commit-config.yaml` holds other hooks for the same
git hook type does the script then run pre-commit, from a copy of the config without
the ledger's hooks (they ran already) and without the repositories that hold no hook
for that type (nothing to download for them).

A hook counts for a git hook type when its `stages` (or the config's `default_stages`)
name it; for `pre-commit` also when neither does, which is pre-commit's own default. The
copies are kept in the ledger's folder under the config's `cksum`, which the git hook
script computes to find them: a changed config, or a branch with another one, gets its
own copies on its first commit (`python -m ledger.setup.hook_config`).
"""

from __future__ import annotations

import io
import subprocess
import sys
from typing import TYPE_CHECKING

from ledger.setup.hook_specs import HOOKS
from ledger.setup.precommit_config import CONFIG_NAME

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

FOLDER = "chains"
"""In the ledger's folder of the git common dir."""
KEEP = 64
"""Copies kept (four per config version); older ones are removed."""
_LEGACY_STAGES = {"commit": "pre-commit", "push": "pre-push", "merge-commit": "pre-merge-commit"}
_HEADER = (
    "# Written by exp-ledger's git hooks from .pre-commit-config.yaml: its hooks for one git hook\n"
    "# type, without exp-ledger's own (they run directly). Rewritten when the config changes.\n"
)


def key(text: bytes) -> str:
    """The name the git hook script finds a config's copies under: POSIX `cksum` of it."""
    out = subprocess.run(["cksum"], input=text, capture_output=True, check=True).stdout.decode()
    crc, size = out.split()[:2]
    return f"{crc}-{size}"


def plan_path(ledger_dir: Path, config_key: str, hook_type: str) -> Path:
    """Where a config's copy for `hook_type` lives (an empty file: nothing to hand over)."""
    return ledger_dir / FOLDER / f"{config_key}.{hook_type}.yaml"


def chained_config(text: str, hook_type: str) -> str | None:
    """The copy of the config pre-commit runs for `hook_type` after the ledger's own hook,
    or None when the config holds no other hook for it.

    Raises:
        ValueError: the config is not YAML, or not a pre-commit config.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    try:
        data = yaml.load(text)
    except YAMLError as e:
        raise ValueError(f"{CONFIG_NAME} is not valid YAML: {' '.join(str(e).split())}") from e
    repos = data.get("repos") if isinstance(data, dict) else None
    if not isinstance(repos, list):
        raise ValueError(f"{CONFIG_NAME} has no list of repos")
    ours = {h.id for h in HOOKS}
    default = _stages(data.get("default_stages"))
    kept = []
    for repo in repos:
        if not isinstance(repo, dict) or not isinstance(repo.get("hooks"), list):
            continue
        hooks = [
            h
            for h in repo["hooks"]
            if isinstance(h, dict)
            and not (repo.get("repo") == "local" and h.get("id") in ours)
            and _runs_at(_stages(h.get("stages")) or default, hook_type)
        ]
        if hooks:
            kept.append({**repo, "hooks": hooks})
    if not kept:
        return None
    out = io.StringIO()
    yaml.default_flow_style = False
    yaml.dump({**data, "repos": kept}, out)
    return _HEADER + out.getvalue()


def plans(text: bytes) -> dict[str, str | None]:
    """The config's copy for each of the ledger's git hook types (None: nothing to hand over).

    Raises:
        ValueError: the config is not YAML, not UTF-8, or not a pre-commit config.
    """
    decoded = text.decode()
    return {t: chained_config(decoded, t) for t in dict.fromkeys(h.stage for h in HOOKS)}


def write_plans(ledger_dir: Path, text: bytes, copies: dict[str, str | None] | None = None) -> None:
    """Write the config's copies where the git hook script looks for them (empty: none).

    Raises:
        OSError: the ledger's folder cannot be written.
    """
    from ledger.core.fileops import write_durably

    config_key = key(text)
    folder = ledger_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for hook_type, copy in (plans(text) if copies is None else copies).items():
        write_durably(plan_path(ledger_dir, config_key, hook_type), (copy or "").encode())
    _prune(folder)


def _stages(value: object) -> list[str] | None:
    if not isinstance(value, list) or not value:
        return None
    return [_LEGACY_STAGES.get(str(s), str(s)) for s in value]


def _runs_at(stages: Sequence[str] | None, hook_type: str) -> bool:
    """pre-commit runs a hook without stages at every stage; for the ledger's own git hook
    types such a hook was never meant (they were not installed before `ledger init`)."""
    if stages is None:
        return hook_type == "pre-commit"
    return hook_type in stages


def _prune(folder: Path) -> None:
    plans = sorted(folder.glob("*.yaml"), key=lambda p: p.stat().st_mtime_ns)
    for old in plans[:-KEEP]:
        old.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ledger.setup.hook_config LEDGER_DIR HOOK_TYPE`: write the work tree's config's copies.

    Run by the git hook script when it finds none for the config it sees. Exit 1 (after
    one line on stderr) when the hook type has hooks to hand over but no copy could be
    written: the script then hands the whole config to pre-commit.
    """
    from pathlib import Path

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        sys.stderr.write("usage: python -m ledger.setup.hook_config LEDGER_DIR HOOK_TYPE\n")
        return 2
    ledger_dir, hook_type = Path(args[0]), args[1]
    try:
        text = Path(CONFIG_NAME).read_bytes()
        copies = plans(text)
    except (OSError, ValueError) as e:
        return _cannot(f"cannot read {CONFIG_NAME}", e)
    try:
        write_plans(ledger_dir, text, copies)
    except (OSError, subprocess.SubprocessError) as e:
        if copies.get(hook_type) is not None:
            return _cannot(f"cannot write the copy of {CONFIG_NAME} for {hook_type}", e)
    return 0


def _cannot(what: str, error: Exception) -> int:
    message = " ".join(str(error).split()) or type(error).__name__
    sys.stderr.write(f"exp-ledger: {what} ({message}): pre-commit runs it whole\n")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
