"""`ledger init`: the ledger, the interpreter, the pre-commit config and the git hooks.

The hooks go into the repository's `.pre-commit-config.yaml` as one `repo: local`
block with `language: system` (they run in the user's own environment), merged into
an existing file without reformatting it: that is how they are declared and shared.
The git hooks themselves are small scripts (`ledger.setup.git_hooks`) that run the ledger's
hook directly and hand over to pre-commit only for the config's other hooks.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.core.errors import InstallError
from ledger.core.urls import sqlite_file
from ledger.git import command
from ledger.setup import git_hooks
from ledger.setup.hook_specs import HOOKS, PYTHON_CONFIG_KEY, SCRIPT_CONFIG_KEY, HookSpec
from ledger.setup.precommit_config import CONFIG_NAME, HOOK_TYPES_KEY, ConfigPlan, plan_config

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ledger.store.workspace import Workspace


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One line of `ledger init --check`."""

    ok: bool
    what: str
    detail: str = ""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `ledger init` to the CLI's subcommands."""
    stages = ", ".join(dict.fromkeys(h.stage for h in HOOKS))
    defaults = ", ".join(dict.fromkeys(h.stage for h in select_hooks(None)))
    p = sub.add_parser(
        "init",
        help="set up the ledger and its git hooks",
        description="Create the ledger, add exp-ledger's hooks to .pre-commit-config.yaml "
        "and install its git hooks (which hand over to pre-commit for the config's other "
        "hooks). Running it again changes nothing.",
    )
    p.add_argument("--check", action="store_true", help="report what is and is not set up; change nothing")
    p.add_argument(
        "--stages",
        type=_stages_arg,
        action="extend",
        metavar="STAGE[,STAGE]",
        help=f"the hooks to set up, by git hook type: {stages} (default: {defaults})",
    )
    p.add_argument(
        "--no-install",
        action="store_true",
        help="write the config but install no git hooks (hooks managed another way)",
    )
    p.set_defaults(func=cmd_init)


def cmd_init(args: argparse.Namespace) -> int:
    """Set everything up, or with `--check` report what is set up (exit 1 if not all)."""
    from ledger.store.workspace import locate

    hooks = select_hooks(args.stages)
    ws = locate(need_repo=True)
    if args.check:
        items = check(ws, hooks)
        width = max(len("missing"), *(len(i.what) for i in items))
        lines = [f"{'ok' if i.ok else 'missing':8} {i.what:{width}}  {i.detail}".rstrip() for i in items]
        missing = not all(i.ok for i in items)
        lines.append("run `ledger init` to set up what is missing" if missing else "all set")
        _emit(lines)
        return 1 if missing else 0
    _emit(init(ws, hooks, install=not args.no_install))
    return 0


def select_hooks(stages: Sequence[str] | None) -> tuple[HookSpec, ...]:
    """The hooks for these git hook types; by default those marked `default`."""
    if stages is None:
        return tuple(h for h in HOOKS if h.default)
    return tuple(h for h in HOOKS if h.stage in stages)


def init(ws: Workspace, hooks: Sequence[HookSpec], *, install: bool = True) -> list[str]:
    """Set up the ledger and its hooks; returns what was done, one line per change.

    Everything that can refuse (unreadable config, no pre-commit, `core.hooksPath`)
    is checked before anything is changed.
    """
    from ledger.store.workspace import open_store

    root = ws.root
    config = root / CONFIG_NAME
    existing = _read(config)
    plan = plan_config(existing, hooks)
    hooks_dir = _hooks_dir(root)
    if install:
        _refuse_hooks_path(root)
    paths = _installed_paths(required=install)
    stale = [h for h in hooks if paths is None or not git_hooks.state(hooks_dir, h, paths)[0]]
    clean = plan.changed and _has_no_unstaged_changes(root)

    done: list[str] = []
    db = sqlite_file(ws.url)
    fresh = db is not None and not db.exists()
    open_store(ws).close()
    if fresh:
        done.append(f"created the ledger at {db}")
    recorded = (
        (PYTHON_CONFIG_KEY, sys.executable, "the interpreter for the hooks"),
        (SCRIPT_CONFIG_KEY, str(hook_script()), "the hooks' shell fast path"),
    )
    for key, value, what in recorded:
        if _git(root, "config", "--local", "--get", key).stdout.strip() != value:
            _git(root, "config", "--local", key, value, check=True)
            done.append(f"recorded {what}: git config {key} {value}")
    if plan.changed:
        _write(config, plan.text)
        done.append(_config_summary(plan, created=existing is None))
    if install and paths is not None and stale:
        for h in stale:
            done += git_hooks.install(hooks_dir, h, paths)
        done.append(f"installed git hooks: {', '.join(h.stage for h in stale)}")
    if install:
        _prepare_chains(ws, config)
    elif stale:
        done.append(
            f"git hooks not installed (--no-install); to install: ledger init --stages {_stage_list(stale)}"
        )
    if plan.changed and existing is not None:
        done += _unblock_pre_commit(root, hooks_dir, staged_before=clean)
    return done or [f"exp-ledger is already set up in {root}: nothing changed"]


def check(ws: Workspace, hooks: Sequence[HookSpec]) -> list[CheckItem]:
    """What is and is not set up, one item per part; changes nothing."""
    root = ws.root
    items = [_check_store(ws.url), _check_python(root), _check_script(root)]
    try:
        plan = plan_config(_read(root / CONFIG_NAME), hooks)
    except InstallError as e:
        items.append(CheckItem(ok=False, what=CONFIG_NAME, detail=e.message))
    else:
        for h in hooks:
            detail = "out of date" if h.id in plan.updated else f"not in {CONFIG_NAME}"
            ok = h.id not in plan.added + plan.updated
            items.append(CheckItem(ok=ok, what=f"hook {h.id}", detail="" if ok else detail))
        types = ", ".join(plan.hook_types_added)
        items.append(CheckItem(ok=not types, what=HOOK_TYPES_KEY, detail=types and f"lacks {types}"))
    hooks_path = _git(root, "config", "--get", "core.hooksPath").stdout.strip()
    try:
        paths, missing = _installed_paths(required=True), ""
    except InstallError as e:
        paths, missing = None, e.message
    for h in hooks:
        if hooks_path:
            ok, detail = False, f"core.hooksPath is set ({hooks_path}): `ledger init` cannot install"
        elif paths is None:
            ok, detail = False, missing
        else:
            ok, detail = git_hooks.state(_hooks_dir(root), h, paths)
            detail += _handed_over(root, h.stage) if ok else ""
        items.append(CheckItem(ok=ok, what=f"git hook {h.stage}", detail=detail))
    return items


def _handed_over(root: Path, hook_type: str) -> str:
    """What the git hook then runs through pre-commit, and what pre-commit must download for it."""
    from ledger.setup.hook_config import chained_config

    try:
        text = _read(root / CONFIG_NAME)
        copy = chained_config(text, hook_type) if text is not None else None
    except (InstallError, ValueError):
        return ""
    if copy is None:
        return ""
    from ruamel.yaml import YAML

    repos = YAML(typ="safe", pure=True).load(copy)["repos"]
    remote = [str(r["repo"]) for r in repos if r.get("repo") not in ("local", "meta")]
    downloads = f"; pre-commit must be able to download {', '.join(remote)}" if remote else ""
    return f", then pre-commit for the config's other {hook_type} hooks{downloads}"


def _prepare_chains(ws: Workspace, config: Path) -> None:
    """Work out now what the git hooks hand over to pre-commit, so the first commit need not.

    A config pre-commit cannot read is left to the first commit, whose hook says so.
    """
    from ledger.setup import hook_config

    with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
        hook_config.write_plans(ws.spool_dir.parent.resolve(), config.read_bytes())


def _installed_paths(*, required: bool) -> git_hooks.Paths | None:
    """What the git hook scripts run; None without pre-commit, unless `required` (then an error).

    Raises:
        InstallError: pre-commit is not installed and `required`.
    """
    try:
        pre_commit = _pre_commit()[0]
    except InstallError:
        if required:
            raise
        return None
    return git_hooks.Paths(hook_script=hook_script(), python=sys.executable, pre_commit=pre_commit)


def _stage_list(hooks: Sequence[HookSpec]) -> str:
    return ",".join(h.stage for h in hooks)


def _has_no_unstaged_changes(root: Path) -> bool:
    """Whether `.pre-commit-config.yaml` is tracked and its work-tree copy is what is staged."""
    tracked = _git(root, "ls-files", "--error-unmatch", "--", CONFIG_NAME).returncode == 0
    return tracked and _git(root, "diff", "--quiet", "--", CONFIG_NAME).returncode == 0


def _unblock_pre_commit(root: Path, hooks_dir: Path, *, staged_before: bool) -> list[str]:
    """pre-commit's own git hooks refuse to run while their config has unstaged changes:
    stage ours when nothing of the user's is unstaged in it, else say so."""
    blocking = sorted(p.name for p in hooks_dir.glob("*") if git_hooks.runs_project_config(p))
    if not blocking:
        return []
    why = f"pre-commit's {', '.join(blocking)} hook refuses to run while it has unstaged changes"
    if staged_before and _git(root, "add", "--", CONFIG_NAME).returncode == 0:
        return [f"staged {CONFIG_NAME}: {why}"]
    return [f"before your next commit, run `git add {CONFIG_NAME}`: {why}"]


def _config_summary(plan: ConfigPlan, *, created: bool) -> str:
    if created:
        return f"created {CONFIG_NAME} with {len(plan.added)} hooks: commit it to share them"
    parts = [
        f"{verb} {', '.join(ids)}" for verb, ids in (("added", plan.added), ("updated", plan.updated)) if ids
    ]
    if plan.hook_types_added:
        parts.append(f"{HOOK_TYPES_KEY} += {', '.join(plan.hook_types_added)}")
    return f"updated {CONFIG_NAME} ({'; '.join(parts)}): commit it to share the hooks"


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise InstallError(f"cannot read {path.name}: {e}") from e


def _write(path: Path, text: str) -> None:
    # Bytes, so the file's own line endings are kept (write_text would translate).
    path.write_bytes(text.encode())


def _pre_commit() -> list[str]:
    """The pre-commit beside this interpreter (its own venv), else the one on PATH."""
    name = "pre-commit.exe" if sys.platform == "win32" else "pre-commit"
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which("pre-commit")
    if found is None:
        raise InstallError(
            f"pre-commit is not installed: run `{Path(sys.executable).name} -m pip install pre-commit`, "
            "then `ledger init`"
        )
    return [found]


def _refuse_hooks_path(root: Path) -> None:
    """Git runs no hook of the hooks folder while `core.hooksPath` points elsewhere: say what to do."""
    value = _git(root, "config", "--get", "core.hooksPath").stdout.strip()
    if not value:
        return
    scope = _git(root, "config", "--show-scope", "--get", "core.hooksPath").stdout.partition("\t")[0]
    flag = {"global": "--global ", "system": "--system ", "worktree": "--worktree "}.get(scope, "")
    raise InstallError(
        f"core.hooksPath is set ({value}) and `ledger init` will not install hooks there: "
        f"run `git config {flag}--unset-all core.hooksPath`, then `ledger init`"
    )


def _hooks_dir(root: Path) -> Path:
    return root / _git(root, "rev-parse", "--git-path", "hooks", check=True).stdout.strip()


def _check_store(url: str) -> CheckItem:
    db = sqlite_file(url)
    if db is not None:
        return CheckItem(
            ok=db.exists(), what="ledger", detail=str(db) if db.exists() else f"not created: {db}"
        )
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from ledger.store.engine import schema_version
    from ledger.store.schema import SCHEMA_HEAD

    try:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                version = schema_version(conn)
        finally:
            engine.dispose()
    except (SQLAlchemyError, ImportError) as e:
        return CheckItem(ok=False, what="ledger", detail=f"cannot open it: {' '.join(str(e).split())[:200]}")
    if version is None:
        return CheckItem(ok=False, what="ledger", detail="the database has no ledger yet")
    if version != SCHEMA_HEAD:
        return CheckItem(ok=False, what="ledger", detail=f"schema {version}: run `ledger db upgrade`")
    return CheckItem(ok=True, what="ledger", detail="shared database")


def _check_python(root: Path) -> CheckItem:
    what = f"git config {PYTHON_CONFIG_KEY}"
    python = _git(root, "config", "--local", "--get", PYTHON_CONFIG_KEY).stdout.strip()
    if not python:
        return CheckItem(ok=False, what=what, detail="the hooks' interpreter is not recorded")
    if not os.access(python, os.X_OK):
        return CheckItem(ok=False, what=what, detail=f"{python} no longer exists")
    probe = subprocess.run([python, "-c", "import ledger.hooks"], capture_output=True, check=False)
    if probe.returncode != 0:
        return CheckItem(ok=False, what=what, detail=f"{python} cannot import exp-ledger")
    return CheckItem(ok=True, what=what, detail=python)


def hook_script() -> Path:
    """The installed `hooks/hook.sh` (package data of ledger.hooks, looked up, not imported)."""
    from importlib.resources import files

    return Path(str(files("ledger.hooks").joinpath("hook.sh")))


def _check_script(root: Path) -> CheckItem:
    what = f"git config {SCRIPT_CONFIG_KEY}"
    script = _git(root, "config", "--local", "--get", SCRIPT_CONFIG_KEY).stdout.strip()
    if not script:
        return CheckItem(ok=False, what=what, detail="not recorded: the hooks start Python on every commit")
    if not Path(script).is_file():
        return CheckItem(ok=False, what=what, detail=f"{script} no longer exists")
    return CheckItem(ok=True, what=what, detail=script)


def _git(root: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    proc = command.run(*args, text=True, cwd=root)
    if check and proc.returncode != 0:
        raise InstallError(f"git {' '.join(args)} failed: {' '.join(proc.stderr.split())}")
    return proc


def _stages_arg(value: str) -> list[str]:
    known = list(dict.fromkeys(h.stage for h in HOOKS))
    stages = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in stages if s not in known]
    if unknown or not stages:
        raise argparse.ArgumentTypeError(
            f"unknown stage {', '.join(unknown) or repr(value)}: choose from {', '.join(known)}"
        )
    return stages


def _emit(lines: Sequence[str]) -> None:
    print("\n".join(lines))
