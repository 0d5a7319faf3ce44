"""Where the user's own program starts in a command line, past interpreters and launchers.

In `torchrun --nproc_per_node 2 train.py --lr 0.1` only `--lr 0.1` says how the result
was made; `--nproc_per_node` configures the launcher, and the `--no-run-cache` of
`dvc repro` configures a tool. Reading every flag as a param made spurious diff columns,
so the ledger takes params only from the arguments of the user's script or module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

_PYTHON = re.compile(r"(?:python|pypy)[0-9.]*(?:-dbg)?w?(?:\.exe)?")
_PYTHON_VALUE_FLAGS = frozenset("WX")
"""Short interpreter options whose value may be the next argument (`-W ignore`)."""
_SCRIPT_SUFFIXES = (".py", ".pyw", ".sh", ".bash", ".zsh", ".R", ".r", ".jl")
_SCRIPT_INTERPRETERS = frozenset({"sh", "bash", "zsh", "dash", "Rscript", "julia"})
"""Interpreters whose first positional argument is a script; `-c`/`-e` means inline code."""
_INLINE_CODE = frozenset({"-c", "-e", "--eval"})

_WRAPPERS: dict[tuple[str, ...], frozenset[str]] = {
    ("env",): frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}),
    ("nohup",): frozenset(),
    ("time",): frozenset({"-f", "--format", "-o", "--output"}),
    ("nice",): frozenset({"-n", "--adjustment"}),
    ("timeout",): frozenset({"-s", "--signal", "-k", "--kill-after"}),
    ("uv", "run"): frozenset(),
    ("poetry", "run"): frozenset(),
    ("pipenv", "run"): frozenset(),
    ("pdm", "run"): frozenset(),
    ("hatch", "run"): frozenset(),
    ("pixi", "run"): frozenset(),
    ("conda", "run"): frozenset({"-n", "--name", "-p", "--prefix"}),
    ("mamba", "run"): frozenset({"-n", "--name", "-p", "--prefix"}),
    ("micromamba", "run"): frozenset({"-n", "--name", "-p", "--prefix"}),
    ("srun",): frozenset(),
    ("mpirun",): frozenset(),
    ("mpiexec",): frozenset(),
    ("horovodrun",): frozenset(),
    ("torchrun",): frozenset(),
    ("deepspeed",): frozenset(),
    ("accelerate", "launch"): frozenset({"--config_file", "--config-file"}),
}
"""Commands that run another command or script, with their options that always take a
value. Other options take the next argument as value unless it looks like a program."""
_LAUNCHER_MODULES = frozenset(
    {
        "torch.distributed.run",
        "torch.distributed.launch",
        "accelerate.commands.launch",
        "deepspeed.launcher.runner",
    }
)
"""Modules that `python -m` runs as launchers of the user's script."""
_MODULE_FLAGS = frozenset({"-m", "--module"})
"""A launcher's flag saying its script argument is a module name (torchrun, accelerate, uv)."""
_ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


@dataclass(frozen=True, slots=True)
class Program:
    """The user's script (a path) or module (`-m pkg.train`) and the arguments it was given."""

    entry: str
    args: tuple[str, ...]


def find_program(argv: Sequence[str]) -> Program | None:
    """The user's own program in a command line, or None when there is none.

    A Python interpreter's script or `-m` module, the script of a known launcher
    (torchrun, `accelerate launch`, deepspeed, `python -m torch.distributed.run`,
    srun, mpirun, `uv run`, `conda run`, env...), a shell/R/Julia script, or a
    command that is itself a script (`./train.sh`, `train.py`, the `sys.argv[0]` of a
    Python process). A bare command name (`dvc`, `make`) is a tool: its flags are its own.
    """
    if not argv:
        return None
    name = _base(argv[0])
    if _PYTHON.fullmatch(name):
        return _python(argv[1:])
    if name in _SCRIPT_INTERPRETERS:
        return _interpreted(argv[1:])
    for words, value_options in _WRAPPERS.items():
        if (name, *argv[1 : len(words)]) == words:
            return _launched(argv[len(words) :], value_options)
    if _is_own_script(argv[0]):
        return Program(argv[0], tuple(argv[1:]))
    return None


def command_python(argv: Sequence[str], *, path: str | None = None) -> str | None:
    """The Python interpreter a command runs its Python code with, as a full path.

    The interpreter the command names (`/venv/bin/python train.py`), else the `python`
    that `path` (the child's PATH) finds: what `dvc repro` stages, launchers and shell
    scripts start. None when there is none.
    """
    import shutil

    if argv and _PYTHON.fullmatch(_base(argv[0])):
        return shutil.which(argv[0], path=path)
    return shutil.which("python", path=path) or shutil.which("python3", path=path)


def dvc_set_params(argv: Sequence[str]) -> list[str]:
    """The `key=value` params `dvc exp run -S [file:]key=value` sets, file prefix removed.

    DVC's flags are its own, but these are the user's params, spelled for DVC.
    """
    if len(argv) < 3 or (_base(argv[0]), *argv[1:3]) != ("dvc", "exp", "run"):
        return []
    found = []
    for i, arg in enumerate(argv[3:], start=3):
        name, eq, value = arg.partition("=")
        if name in ("-S", "--set-param") and (eq or i + 1 < len(argv)):
            setting = value if eq else argv[i + 1]
        elif arg.startswith("-S") and len(arg) > 2:
            setting = arg[2:]
        else:
            continue
        key, eq, value = setting.partition("=")
        if eq:
            found.append(f"{key.rpartition(':')[2]}={value}")
    return found


def _python(args: Sequence[str]) -> Program | None:
    """After the interpreter: its options, then a script, `-m module` or `-c code`."""
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--check-hash-based-pycs":
            i += 1
            continue
        if arg in ("-", "--") or not arg.startswith("-"):
            if arg == "--" and i < len(args):
                arg, i = args[i], i + 1
            return None if arg == "-" else Program(arg, tuple(args[i:]))
        if arg.startswith("--"):
            continue
        for at, flag in enumerate(arg[1:], start=1):
            if flag == "c":
                return None
            if flag == "m":
                module = arg[at + 1 :] or (args[i] if i < len(args) else "")
                i += 0 if arg[at + 1 :] else 1
                if not module:
                    return None
                if module in _LAUNCHER_MODULES:
                    return _launched(args[i:], frozenset())
                return Program(module, tuple(args[i:]))
            if flag in _PYTHON_VALUE_FLAGS:
                i += 0 if arg[at + 1 :] else 1
                break
    return None


def _interpreted(args: Sequence[str]) -> Program | None:
    """After a shell, R or Julia interpreter: its options, then the script."""
    for i, arg in enumerate(args):
        if arg in _INLINE_CODE:
            return None
        if not arg.startswith(("-", "+")):
            return Program(arg, tuple(args[i + 1 :]))
    return None


def _launched(args: Sequence[str], value_options: frozenset[str]) -> Program | None:
    """After a launcher: its options, then a command (recursed into) or the script.

    An option's value is the next argument when the option is known to take one, or
    when that argument does not look like a program (`--nproc_per_node 2 train.py`);
    a positional argument that does not look like a program is the launcher's own
    (`timeout 1h ...`, `taskset 0x3 ...`).
    """
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            return find_program(args[i:])
        if arg in _MODULE_FLAGS:
            return Program(args[i], tuple(args[i + 1 :])) if i < len(args) else None
        if arg.startswith("-"):
            if "=" in arg or i >= len(args) or args[i].startswith("-"):
                continue
            if arg in value_options or not _looks_like_program(args[i]):
                i += 1
            continue
        if _ENV_ASSIGNMENT.fullmatch(arg):
            continue  # `env LR=1 python train.py`
        if _looks_like_program(arg):
            return find_program(args[i - 1 :])
    return None


def _looks_like_program(arg: str) -> bool:
    name = _base(arg)
    return (
        _is_own_script(arg)
        or bool(_PYTHON.fullmatch(name))
        or name in _SCRIPT_INTERPRETERS
        or any(words[0] == name for words in _WRAPPERS)
    )


def _is_own_script(arg: str) -> bool:
    """A script file named by its suffix or by a path (`./train.sh`, `/abs/train.py`)."""
    return arg.endswith(_SCRIPT_SUFFIXES) or arg.startswith(("./", "../"))


def _base(arg: str) -> str:
    return arg.replace("\\", "/").rsplit("/", 1)[-1]
