"""The work of `ledger reproduce` (`ledger.reproduce.command` parses its arguments):
plan, check the code out, restore the data, prepare the environment, re-run, judge."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.capture.log_scalars import LOG_SOURCE
from ledger.capture.runner import run_command
from ledger.commits.ingest import has_pending, ingest_pending
from ledger.core.comparable import aligned, folder_keys
from ledger.core.errors import LedgerError, ReproduceError
from ledger.core.lockfile import diff_environments
from ledger.core.verdict import COULD_NOT_RUN, EXIT_CODES, judge, verdict_table
from ledger.delivery.liveness import reap_dead_runs
from ledger.git.command import find_repo, scrubbed_env
from ledger.git.worktree import add_worktree, remove_worktree
from ledger.read import queries
from ledger.reproduce.envbuild import build_env, python_of, venv_environment
from ledger.reproduce.plan import make_plan, render_plan
from ledger.reproduce.restore import restore
from ledger.store import annotate
from ledger.store.workspace import locate, open_store

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from ledger.core.ids import RunId
    from ledger.reproduce.plan import Plan
    from ledger.store.engine import Store
    from ledger.store.workspace import Workspace

REPRODUCTION_TAG = "reproduction"
"""Tag of every run made by `ledger reproduce` (`ledger list tag:reproduction`)."""

STEPS = 5


def reproduce(args: argparse.Namespace) -> int:
    """Reproduce a run (or print the plan with --dry-run); the exit code is the outcome's."""
    try:
        return _reproduce(args)
    except LedgerError as e:
        # Its own exit code, not the usual 1: CI must tell "did not match" from "never ran".
        _say(f"error: {e.message}" + (f"\nledger: hint: {e.hint}" if e.hint else ""))
        if args.json:
            json.dump({"outcome": COULD_NOT_RUN, "run": args.run, "error": e.message}, sys.stdout)
            sys.stdout.write("\n")
        return EXIT_CODES[COULD_NOT_RUN]


def _reproduce(args: argparse.Namespace) -> int:
    ws = locate(need_repo=True)
    store = open_store(ws)
    try:
        if not args.dry_run:
            _ingest(ws, store)
        run_id = queries.resolve_run_id(store, args.run)
        plan = make_plan(
            ws,
            store,
            run_id,
            worktree=None if args.dir is None else args.dir.expanduser().absolute(),
            env_mode=args.env,
            tolerances=args.tolerance,
        )
        if args.dry_run:
            sys.stdout.write(render_plan(plan) + "\n")
            if plan.problems:
                _say(f"cannot reproduce: {plan.problems[0]}")
                return 5
            return 0
        _say(render_plan(plan).replace("\n", "\nledger: "))
        return execute(ws, store, plan, keep=args.keep, as_json=args.json)
    finally:
        store.close()


def execute(ws: Workspace, store: Store, plan: Plan, *, keep: bool, as_json: bool = False) -> int:
    """Carry a plan out; returns the verdict's exit code (`ledger.core.verdict.EXIT_CODES`).

    Raises:
        ReproduceError: a step could not be done (missing data, failed build...);
            nothing was run unless the message says otherwise.
    """
    if plan.problems:
        raise ReproduceError(plan.problems[0])
    original = plan.original.summary
    root = ws.root
    worktree = plan.worktree or Path(tempfile.mkdtemp(prefix=f"ledger-reproduce-{original.short_id}-"))
    clock = time.monotonic()
    try:
        add_worktree(root, worktree, plan.code.commit)
    except BaseException:
        if plan.worktree is None:
            worktree.rmdir()  # the empty folder made above
        raise
    try:
        _step(1, f"code: {plan.code.ref or plan.code.commit} checked out at {worktree}", clock)
        # DVC restores the data in its own process meanwhile: the environment is built
        # (or `ledger run`'s modules loaded) on the other core instead of after it.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-restore") as pool:
            data = pool.submit(_restore_data, plan, worktree)
            environment = _environment(ws, plan)
            lines = data.result()
        lines += _copy_inputs(plan, ws.root, worktree)
        for line in [*lines, *environment[1]]:
            _say(line)
        with _stdout_to_stderr() if as_json else contextlib.nullcontext():
            new_id = _run(ws, store, plan, worktree, environment[0])
        return _verdict(store, plan, new_id, as_json=as_json)
    finally:
        if keep:
            _say(
                f"worktree kept at {worktree} (remove it with: git worktree remove --force {shlex.quote(str(worktree))})"
            )
        else:
            remove_worktree(root, worktree)


def _restore_data(plan: Plan, worktree: Path) -> list[str]:
    """Restore and verify the data; returns the progress lines to print: one per path."""
    clock = time.monotonic()
    if not plan.data or plan.dvc is None or plan.dvc_program is None:
        return [_step_line(2, "data: no DVC-tracked data", clock)]
    done = restore(worktree, plan.data, plan.dvc, dvc=plan.dvc_program)
    restored = sum(how.startswith("restored") for _, how in done)
    left = len(done) - restored
    tail = f", {left} left for the run to make" if left else ""
    head = _step_line(2, f"data: {restored} of {len(done)} DVC path(s) restored{tail}", clock)
    return [head, *(f"  {path}: {how}" for path, how in done)]


def _copy_inputs(plan: Plan, root: Path, worktree: Path) -> list[str]:
    """Copy the git-ignored inputs the run read, unchanged since, from the workspace."""
    lines = []
    for item, state in plan.inputs:
        target = worktree / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / item.path, target)
        verified = (
            "unchanged since the run" if state == "unchanged" else "not verified: too big to have been hashed"
        )
        lines.append(f"  {item.path}: git-ignored input copied from the workspace ({verified})")
    return lines


def _environment(ws: Workspace, plan: Plan) -> tuple[Path | None, list[str]]:
    """Build or reuse the virtualenv for `--env rebuild`; returns its bin folder (None: the
    current environment) and the progress line to print."""
    clock = time.monotonic()
    if plan.env_mode != "rebuild" or plan.recorded_env is None:
        drift = plan.drift
        state = (
            "no drift"
            if drift is None or drift.is_empty
            else "drifted from the recorded lockfile (see above)"
        )
        python_dir = None if plan.python is None else Path(plan.python).parent
        return python_dir, [
            _step_line(3, f"environment: current, {plan.python or sys.executable} ({state})", clock)
        ]
    built = build_env(plan.recorded_env, home=ws.spool_dir.parent, say=_say)
    verb = "reused" if built.reused else "built"
    return built.python.parent, [_step_line(3, f"environment: {verb} virtualenv {built.path}", clock)]


def _run(ws: Workspace, store: Store, plan: Plan, worktree: Path, python_dir: Path | None) -> RunId:
    """Run the command under `ledger run` in the worktree; returns the new run's ID."""
    env = scrubbed_env({**plan.env, "LEDGER_URL": ws.url})
    if python_dir is not None:
        # Stages and scripts that start `python` by name find the plan's interpreter.
        env["PATH"] = os.pathsep.join([str(python_dir), env.get("PATH", "")])
        if (python_dir.parent / "pyvenv.cfg").is_file():
            env["VIRTUAL_ENV"] = str(python_dir.parent)
        env.pop("PYTHONHOME", None)
    cwd = worktree / plan.workdir
    clock = time.monotonic()
    _say(f"[4/{STEPS}] run: {shlex.join(plan.argv)}")
    since = time.time() - 1.0
    with _inside(cwd, env):
        # `ledger run` itself, in this process: it records, streams, heartbeats and
        # handles Ctrl-C as for any run, without a second interpreter to start.
        code = run_command(plan.argv, name=None, tags=[REPRODUCTION_TAG], hand_over=False)
    repo = find_repo(worktree)
    new_id = (
        None if repo is None else queries.find_run_started_in(store, repo=str(repo.toplevel), since=since)
    )
    if new_id is None:
        raise ReproduceError(f"the reproduction was not recorded (`ledger run` exited {code})")
    if plan.env_mode == "rebuild" and python_dir is not None and plan.recorded_env is not None:
        seen = venv_environment(python_of(python_dir.parent))
        annotate.set_environment(store, new_id, seen)
        drift = diff_environments(plan.recorded_env, seen)
        if not drift.is_empty:
            changes = [c.summary for c in drift.changed] + [f"+{p.name}" for p in drift.added]
            changes += [f"-{p.name}" for p in drift.removed] + [" -> ".join(drift.python or ())]
            _say(
                f"warning: the rebuilt environment differs from the lockfile: {', '.join(filter(None, changes))}"
            )
    _step(4, f"run: recorded as {queries.short_id(store, new_id)} (exit {code})", clock)
    return new_id


def _verdict(store: Store, plan: Plan, new_id: RunId, *, as_json: bool) -> int:
    clock = time.monotonic()
    original = plan.original
    reproduced = queries.get_run(store, new_id)
    # Each run wrote into its own folder: `outputs/<its time>/x` is compared with the other's.
    mine, theirs = original.run_folders, reproduced.run_folders
    metrics = aligned(
        [({m.key: m for m in original.metrics}, mine), ({m.key: m for m in reproduced.metrics}, theirs)]
    )
    outputs = aligned(
        [
            ({o.path: o.value for o in original.outputs}, mine),
            ({o.path: o.value for o in reproduced.outputs}, theirs),
        ],
        folder_keys,
    )
    verdict = judge(
        {key: m.value for key, m in metrics[0].items()},
        {key: m.value for key, m in metrics[1].items()},
        tolerances=plan.tolerances,
        exit_codes=(
            _exit_code(original.summary.exit_code, original.summary.status),
            reproduced.summary.exit_code,
        ),
        outputs=(outputs[0], outputs[1]),
        seeded=plan.seeded,
        printed=(
            {key for key, m in metrics[0].items() if m.source == LOG_SOURCE},
            {key for key, m in metrics[1].items() if m.source == LOG_SOURCE},
        ),
    )
    annotate.save_reproduction(store, new_id, original.summary.id, verdict)
    table = sys.stderr if as_json else sys.stdout
    table.write(verdict_table(verdict) + "\n")
    table.flush()
    _step(
        5,
        f"verdict: {reproduced.summary.short_id} reproduces {original.summary.short_id}: {verdict.summary()}",
        clock,
    )
    if as_json:
        json.dump({"run": original.summary.id, "reproduction": new_id, **verdict.to_dict()}, sys.stdout)
        sys.stdout.write("\n")
        sys.stdout.flush()
    if reproduced.summary.status == "interrupted":
        raise KeyboardInterrupt
    return EXIT_CODES[verdict.outcome]


def _exit_code(code: int | None, status: str) -> int | None:
    """An API run has no exit code of its own: finished means 0."""
    if code is None and status == "finished":
        return 0
    return code


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send what the command prints to stderr: with --json, stdout holds the verdict alone."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def _inside(cwd: Path, env: dict[str, str]) -> Iterator[None]:
    """Lend `ledger run` the worktree as its folder and `env` as its environment (it reads
    both from the process, as a command started from a shell there would)."""
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def _ingest(ws: Workspace, store: Store) -> None:
    """Take in what the git hooks left, and mark dead runs, as every reading command does."""
    if has_pending(ws):
        ingest_pending(ws, store, wait=30.0)
    reap_dead_runs(store, ws.spool_dir)


def _step(number: int, text: str, clock: float) -> None:
    _say(_step_line(number, text, clock))


def _step_line(number: int, text: str, clock: float) -> str:
    return f"[{number}/{STEPS}] {text} ({time.monotonic() - clock:.2f}s)"


def _say(message: str) -> None:
    sys.stderr.write(f"ledger: {message}\n")
    sys.stderr.flush()
