"""Run `ledger.cli.main.main` inside the test's process as `python -m ledger` would run.

A subprocess pays the interpreter's start and the imports of every command it runs;
most CLI checks only read what the command prints and its exit code.
What a fresh interpreter gives the program is given here too, and taken back after:
the folder and environment asked for, an empty stdin, stdout and stderr as files at the
descriptor level (children the command starts write into them, as they would into
a subprocess's pipes), the interpreter's default warning filters, logging with no
handler (Python's last resort prints on stderr), and untouched signal handlers.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import signal
import sys
import tempfile
import traceback
import warnings
from importlib.util import find_spec
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

NEEDS_A_PROCESS = frozenset({"run", "reproduce", "ui"})
"""Commands that start a recorded child, hand it to a detached recorder, or own the
terminal: their signals, exit and child processes belong to a program of their own
(asking one of them for `--help` runs nothing)."""

DEFAULT_WARNING_FILTERS: tuple[tuple[Literal["default", "ignore"], type[Warning], str], ...] = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
)
"""`python -m ledger`'s warning filters (CPython's defaults), not the test run's "error"."""


def run_main(args: Sequence[str], *, cwd: Path | None, env: Mapping[str, str]) -> tuple[int, str, str]:
    """`main(args)` with `env` added to the environment, in `cwd`; (exit code, stdout, stderr)."""
    if args and args[0] in NEEDS_A_PROCESS and list(args[1:2]) not in (["-h"], ["--help"]):
        raise AssertionError(f"`ledger {args[0]}` needs a process of its own: use ledger_process")
    from ledger.cli.main import main

    with (
        _environment(env),
        _folder(cwd),
        _argv(args),
        _signal_handlers(),
        _fresh_logging(),
        _captured() as output,
        _empty_stdin(),
        warnings.catch_warnings(),
    ):
        warnings.resetwarnings()
        for action, category, module in DEFAULT_WARNING_FILTERS:
            warnings.filterwarnings(action, category=category, module=module, append=True)
        # Everything alive before the command is set aside from the collector, so that the
        # collection after it walks the command's own objects, not the whole test process.
        gc.freeze()
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse: --help, --version and usage errors
            code = _exit_code(e.code)
        except Exception:  # noqa: BLE001 - what the interpreter does with an uncaught one
            traceback.print_exc()
            code = 1
        finally:
            # What the command left for the garbage collector is collected under its own
            # filters, as the interpreter's exit would, not later under the test's.
            gc.collect()
            gc.unfreeze()
    return code, output[0], output[1]


def _exit_code(code: object) -> int:
    """The status `raise SystemExit(code)` gives a process."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _read(file: IO[bytes]) -> str:
    """The bytes as `subprocess.run(text=True)` decodes them (universal newlines)."""
    file.seek(0)
    return io.TextIOWrapper(io.BytesIO(file.read()), encoding="utf-8").read()


@contextlib.contextmanager
def _environment(extra: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _folder(cwd: Path | None) -> Iterator[None]:
    saved = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


@contextlib.contextmanager
def _argv(args: Sequence[str]) -> Iterator[None]:
    saved = sys.argv
    spec = find_spec("ledger.__main__")
    sys.argv = [spec.origin if spec is not None and spec.origin else "ledger", *args]
    try:
        yield
    finally:
        sys.argv = saved


@contextlib.contextmanager
def _signal_handlers() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in signal.valid_signals()}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            if handler is not None and signal.getsignal(signum) is not handler:
                signal.signal(signum, handler)


@contextlib.contextmanager
def _fresh_logging() -> Iterator[None]:
    """No handler on the root logger, at its default level: as in a new interpreter."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@contextlib.contextmanager
def _captured() -> Iterator[list[str]]:
    """Descriptors 1 and 2 into files, and `sys.stdout`/`sys.stderr` buffered as Python
    buffers pipes (stderr by line); the list yielded holds what each received once the
    block is over."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        saved_streams = sys.stdout, sys.stderr
        for stream in saved_streams:
            stream.flush()
        saved_fds = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - closed below
        sys.stderr = open(  # noqa: SIM115
            2, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False
        )
        output: list[str] = []
        try:
            yield output
        finally:
            sys.stdout.close()
            sys.stderr.close()
            output[:] = [_read(out), _read(err)]
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])


@contextlib.contextmanager
def _empty_stdin() -> Iterator[None]:
    """What a test's subprocess reads: the test runner's stdin is /dev/null."""
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    try:
        yield
    finally:
        sys.stdin = saved
