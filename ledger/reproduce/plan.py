"""What `ledger reproduce` will do, worked out without changing anything (`--dry-run` prints it)."""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.capture.environment import capture_environment, command_environment
from ledger.capture.ignored_inputs import describe as describe_inputs
from ledger.capture.ignored_inputs import workspace_state
from ledger.capture.seeds import (
    REPRODUCES_ENV,
    SEEDS_ENV,
    describe_seeds,
    script_seeds,
    seed_environment,
    seeds_reported,
)
from ledger.core.commandline import command_python
from ledger.core.lockfile import diff_environments
from ledger.core.redact import DETERMINISM_ENV, LOCALE_ENV, MASK
from ledger.core.tolerance import parse_tolerance, tolerances_from_config
from ledger.dvc.files import is_input
from ledger.git.worktree import find_code, read_blobs, tree_files
from ledger.read import queries
from ledger.read.render import data_match
from ledger.reproduce import envbuild
from ledger.reproduce.restore import (
    dvc_setup,
    find_dvc,
    is_dvc_file,
    missing_message,
    plan_data,
    snapshot_refs,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ledger.core.ids import RunId
    from ledger.core.lockfile import EnvDiff, Environment
    from ledger.core.records import OutputFile, RunDetail
    from ledger.core.tolerance import Tolerance
    from ledger.git.worktree import CodeSource
    from ledger.reproduce.restore import DataRestore, DvcSetup
    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace

RESTORED_ENV = (*DETERMINISM_ENV, *LOCALE_ENV)
"""Recorded environment variables set again for the command: they change what it computes.
(Paths such as PYTHONPATH and device choices such as CUDA_VISIBLE_DEVICES belong to the
machine, not to the run.)"""

_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?(\.exe)?$")


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a reproduction will do; `problems` non-empty means it cannot start."""

    original: RunDetail
    code: CodeSource
    worktree: Path | None
    """None: a new temporary folder."""
    workdir: str
    """The command's folder inside the worktree (where the original ran, repo-relative)."""
    data: tuple[DataRestore, ...]
    dvc: DvcSetup | None
    dvc_program: str | None
    recorded_env: Environment | None
    drift: EnvDiff | None
    env_mode: str
    venv: Path | None
    venv_ready: bool
    argv: tuple[str, ...]
    env: dict[str, str]
    tolerances: dict[str, Tolerance]
    archived: bool = False
    python: str | None = None
    """The interpreter the command runs its Python code with (put first on its PATH)."""
    seeded: bool | None = False
    """Whether the original set seeds of its own (else its metrics may drift by chance);
    None when it was stopped before it could say."""
    inputs: tuple[tuple[OutputFile, str], ...] = ()
    """Git-ignored inputs the run read, with their state in the workspace
    (`ledger.capture.ignored_inputs.workspace_state`); the unchanged ones are copied in."""
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())


def make_plan(
    ws: Workspace,
    store: Store,
    run_id: RunId,
    *,
    worktree: Path | None,
    env_mode: str,
    tolerances: Sequence[str],
) -> Plan:
    """Work out the reproduction of `run_id` from the ledger, git and the DVC cache.

    Raises:
        ReproduceError: the run's code is not in this repository.
        LedgerError: a tolerance is malformed.
    """
    root = ws.root
    original = queries.get_run(store, run_id)
    s = original.summary
    warnings: list[str] = []
    problems: list[str] = []
    if s.status == "running":
        problems.append(f"run {s.short_id} is still running; reproduce it once it has ended")
    code = find_code(root, run_id=run_id, commit=s.commit, dirty=s.dirty)
    if code.warning:
        warnings.append(code.warning)
    argv = _command(original, problems)
    argv, note = _without_run_cache(argv)
    notes = [note] if note else []
    if MASK in argv:
        warnings.append(
            f"the recorded command has secrets masked ({MASK}); it runs with {MASK} in their place"
        )

    tree = tree_files(root, code.commit)
    files = read_blobs(root, {name: sha for name, sha in tree.items() if is_dvc_file(name)})
    refs = [ref for ref in snapshot_refs(files) if not _in_git(ref.path, tree)]
    setup = dvc_setup(root, files) if refs else None
    data, data_notes = plan_data(refs, original.data, setup.cache_dir) if setup else ([], [])
    notes += data_notes
    dvc_program = find_dvc() if refs else None
    if refs and dvc_program is None:
        problems.append("the run's data is tracked by DVC, which is not installed (pip install dvc)")
    lost = [d for d in data if d.required and not d.in_cache]
    if setup is not None and lost and (setup.remote is None or any(d.cloud_only for d in lost)):
        problems.append(missing_message(lost, setup))

    inputs = tuple((i, workspace_state(root, i)) for i in original.ignored_inputs)
    gone = {
        "changed": "has changed in the workspace since the run",
        "missing": "is no longer in the workspace",
    }
    problems += [
        f"{i.path}, which the run read (git ignores it and DVC does not track it), {gone[state]}: "
        "the reproduction cannot give the command what it read; nothing was run"
        for i, state in inputs
        if state in gone
    ]
    recorded = (
        None
        if original.environment_digest is None
        else queries.get_environment(store, original.environment_digest)
    )
    python = None
    if env_mode != "rebuild":
        argv, python = _recorded_python(original, argv, warnings)
    drift = None if recorded is None else diff_environments(recorded, _current_environment(argv, warnings))
    venv = None
    if env_mode == "rebuild":
        if recorded is None:
            problems.append(f"run {s.short_id} has no recorded environment to rebuild")
        else:
            venv = envbuild.env_path(ws.spool_dir.parent, recorded)
            warnings += [
                f"cannot reinstall {p} (unknown source): left out" for p in envbuild.unrestorable(recorded)
            ]
            python = str(envbuild.python_of(venv))
            argv = _with_python(argv, Path(python))
    elif recorded is None:
        warnings.append("no environment was recorded with the run: no drift report")

    return Plan(
        original=original,
        code=code,
        worktree=worktree,
        workdir=_workdir(original),
        data=tuple(data),
        dvc=setup,
        dvc_program=dvc_program,
        recorded_env=recorded,
        drift=drift,
        env_mode=env_mode,
        venv=venv,
        venv_ready=venv is not None and envbuild.is_built(venv),
        argv=argv,
        env=_command_env(original),
        tolerances=_tolerances(ws, tolerances),
        archived=queries.is_archived(store, run_id),
        python=python,
        seeded=bool(script_seeds(original.seeds))
        or (None if not seeds_reported(original.capture_errors) else False),
        inputs=inputs,
        notes=tuple(notes),
        warnings=tuple(warnings),
        problems=tuple(problems),
    )


def render_plan(plan: Plan) -> str:
    """The plan as `ledger reproduce --dry-run` prints it."""
    s = plan.original.summary
    title = f"reproduce run {s.id} ({s.short_id})" + (f" {s.name}" if s.name else "")
    out = [title + (" [archived]" if plan.archived else "")]
    where = (
        str(plan.worktree) if plan.worktree else f"a new temporary folder (ledger-reproduce-{s.short_id}-*)"
    )
    source = plan.code.ref or f"commit {plan.code.commit}"
    out.append(_kv("code", f"git worktree of {source} at {where}"))
    out.append(
        _kv(
            "",
            f"commit {plan.code.commit}"
            + (" (includes the run's uncommitted changes)" if s.dirty and plan.code.ref else ""),
        )
    )
    out += [_kv("data", line) if i == 0 else _kv("", line) for i, line in enumerate(_data_lines(plan))]
    states = {i.path: state for i, state in plan.inputs}
    lines = describe_inputs([i for i, _ in plan.inputs], states)
    out += [_kv("inputs", line) if i == 0 else _kv("", line) for i, line in enumerate(lines)]
    out += [_kv("environment", line) if i == 0 else _kv("", line) for i, line in enumerate(_env_lines(plan))]
    workdir = "" if plan.workdir == "." else f" (in {plan.workdir}/)"
    out.append(_kv("command", f"{shlex.join(plan.argv)}{workdir}"))
    out.append(_kv("", "recorded as a new run, tagged `reproduction`, linked to this one"))
    seeds = plan.original.seeds
    given = f" (given back in {SEEDS_ENV})" if seeds else ""
    reported = seeds_reported(plan.original.capture_errors)
    out.append(_kv("seeds", describe_seeds(seeds, reported=reported) + given))
    if not plan.seeded:
        out.append(_kv("", "its metrics may differ by chance: a drift will be named as such"))
    restored = {k: v for k, v in plan.env.items() if k not in (SEEDS_ENV, REPRODUCES_ENV)}
    if restored:
        out.append(_kv("environ", " ".join(f"{k}={shlex.quote(v)}" for k, v in restored.items())))
    out.append(_kv("verdict", _tolerance_line(plan)))
    out += [_kv("note", line) for line in plan.notes]
    out += [_kv("warning", line) for line in plan.warnings]
    out += [_kv("PROBLEM", line) for line in plan.problems]
    return "\n".join(line.rstrip() for line in out)


def _command(original: RunDetail, problems: list[str]) -> tuple[str, ...]:
    argv = original.argv
    if not argv:
        problems.append(
            f"run {original.summary.short_id} recorded no command (source: {original.summary.source}); "
            "only runs made by `ledger run` or the Python API can be reproduced"
        )
        return ()
    if original.summary.source == "api":
        # The API records the script's sys.argv: its interpreter is not part of it.
        if argv[0] in ("-c", "-"):
            problems.append(
                f"run {original.summary.short_id} ran code given on the command line, which was not recorded"
            )
            return argv
        return ("python", *argv)
    return argv


def _without_run_cache(argv: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """`dvc repro` must run its stages: with the shared cache, DVC's run cache would
    restore the original outputs instead, and the reproduction would prove nothing."""
    words = [a for a in argv if not a.startswith("-")]
    is_dvc = bool(argv) and Path(argv[0]).name in ("dvc", "dvc.exe")
    if is_dvc and words[1:2] == ["repro"] and "--no-run-cache" not in argv:
        return (
            *argv,
            "--no-run-cache",
        ), "--no-run-cache added: DVC's run cache would restore outputs instead of running"
    return argv, None


def _in_git(path: str, tree: Mapping[str, str]) -> bool:
    """An output kept in git (`cache: false`, like most metrics files) comes with the code."""
    return path in tree or any(name.startswith(f"{path}/") for name in tree)


def _current_environment(argv: Sequence[str], warnings: list[str]) -> Environment:
    """The environment the command will run in here, as the run's was captured."""
    try:
        return command_environment(argv)
    except OSError as e:
        warnings.append(f"environment: {e}; compared with the ledger's own instead")
        return capture_environment()


def _with_python(argv: tuple[str, ...], python: Path) -> tuple[str, ...]:
    """Point a command that starts with a Python interpreter at the rebuilt one."""
    if argv and _PYTHON.match(Path(argv[0]).name):
        return (str(python), *argv[1:])
    return argv


def _recorded_python(
    original: RunDetail, argv: tuple[str, ...], warnings: list[str]
) -> tuple[tuple[str, ...], str | None]:
    """Run with the interpreter the original used, whatever PATH says where reproduce starts
    (the terminal UI started by an absolute path, a CI job outside the virtualenv)."""
    recorded = original.interpreter
    found = command_python(argv)
    if recorded is None:
        return argv, found
    if not Path(recorded).is_file():
        warnings.append(
            f"the run's interpreter {recorded} is gone; the command runs with {found or 'none found'}"
            " (--env rebuild rebuilds its environment)"
        )
        return argv, found
    return _with_python(argv, Path(recorded)), recorded


def _workdir(original: RunDetail) -> str:
    if original.cwd and original.repo:
        cwd, repo = Path(original.cwd), Path(original.repo)
        if cwd.is_relative_to(repo):
            return cwd.relative_to(repo).as_posix()
    return "."


def _command_env(original: RunDetail) -> dict[str, str]:
    env = seed_environment(original.seeds)
    for name in RESTORED_ENV:
        value = original.env_vars.get(name)
        if value is not None and value != MASK and name not in env:
            env[name] = value
    env[REPRODUCES_ENV] = original.summary.id
    return env


def _tolerances(ws: Workspace, given: Sequence[str]) -> dict[str, Tolerance]:
    # Command-line entries first: globs are tried in order, and these must win.
    cli = dict(parse_tolerance(text) for text in given)
    config = tolerances_from_config(ws.config.extra.get("tolerance"))
    return {**cli, **{k: v for k, v in config.items() if k not in cli}}


def _data_lines(plan: Plan) -> list[str]:
    if not plan.data:
        return ["no DVC-tracked data"]
    lines = []
    setup = plan.dvc
    remote = "no DVC remote" if setup is None or setup.remote is None else f"the DVC remote {setup.remote!r}"
    for item in plan.data:
        cloud = item.ref.cloud_remote
        if item.in_cache and item.ref.files:
            source = f"from the DVC cache, {len(item.ref.files)} files copied by md5"
            source += f" (cloud-versioned on {cloud!r})" if cloud is not None else ""
        elif item.in_cache:
            source = "from the DVC cache"
        elif cloud is not None:
            source = (
                f"MISSING from the DVC cache; only the cloud-versioned remote {cloud!r} has it "
                "(by version ID: needs network access and credentials, `dvc pull`)"
            )
        else:
            source = (
                f"from {remote}" if setup and setup.remote else "MISSING (not in the DVC cache, no remote)"
            )
        why = "" if item.required else " (the run rewrites it; its earlier version, if available)"
        lines.append(f"{item.label} {source}{why}{_as_recorded(plan, item.ref.path)}")
    if setup is not None:
        lines.append(
            f"DVC cache {setup.cache_dir}"
            + (f", remote {setup.remote} = {setup.remote_url}" if setup.remote else "")
        )
    return lines


def _as_recorded(plan: Plan, path: str) -> str:
    """How the original run found the path: input or output, and whether it matched DVC."""
    for d in plan.original.data:
        if d.path == path and d.workspace_match is not None:
            return f" [{'input' if is_input(d.role, d.source) else 'output'}: {data_match(d)}]"
    return ""


def _env_lines(plan: Plan) -> list[str]:
    lines = []
    if plan.env_mode == "rebuild" and plan.venv is not None:
        state = "reused" if plan.venv_ready else f"built with {envbuild.builder()}"
        count = 0 if plan.recorded_env is None else len(plan.recorded_env.packages)
        lines.append(
            f"rebuild: virtualenv of the recorded lockfile ({count} packages) at {plan.venv} ({state})"
        )
    else:
        lines.append(f"current: {plan.python or sys.executable}")
    drift = plan.drift
    if drift is None:
        return lines
    if drift.is_empty:
        lines.append("no drift: the current environment is the recorded one")
        return lines
    lines.append("drift of the current environment from the recorded lockfile:")
    if drift.python:
        lines.append(f"  python    {drift.python[0]} -> {drift.python[1]}")
    if drift.platform:
        lines.append(f"  platform  {drift.platform[0]} -> {drift.platform[1]}")
    if drift.cuda:
        lines.append(f"  cuda      {drift.cuda[0]} -> {drift.cuda[1]}")
    lines += [f"  changed   {c.summary}" for c in drift.changed]
    lines += [f"  added     {p.name} {p.version}" for p in drift.added]
    lines += [f"  removed   {p.name} {p.version}" for p in drift.removed]
    return lines


def _tolerance_line(plan: Plan) -> str:
    exact = "every metric compared exactly (NaN equals NaN), and the exit code"
    if not plan.tolerances:
        return exact
    given = ", ".join(f"{k} {t}" for k, t in plan.tolerances.items())
    return f"{exact}; tolerances: {given}"


def _kv(key: str, value: str) -> str:
    return f"  {key:<12} {value}"
