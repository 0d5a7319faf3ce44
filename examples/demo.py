"""`./dev demo`: build a real git + DVC project in a temporary folder and record two runs."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

PROJECT = Path(__file__).resolve().parent / "classifier"
"""The example project copied into the demo folder."""

COPY_IGNORE = shutil.ignore_patterns("__pycache__", "data", "models", "metrics.json", ".dvc", ".git")
"""Leftovers from someone running the example in place must not leak into the demo repo."""

SECOND_RUN = {"lr": "0.1", "epochs": "20"}
"""The params change the second run makes, left uncommitted so its snapshot is dirty."""

GIT_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_PREFIX",
)
"""Set when the demo runs inside a git hook; they would point every git call at the wrong repo."""


class DemoError(Exception):
    """A step failed; the message is the one line the user sees."""


@dataclass(frozen=True, slots=True)
class Tools:
    """The programs the demo runs, and the environment it runs them in."""

    git: str
    dvc: str
    ledger: str
    python: str
    """What the demo's commands call Python: `python` when PATH finds ours, else its path."""
    env: dict[str, str]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; 0 when every step worked, 1 (one line on stderr) when one failed."""
    args = _parser().parse_args(argv)
    started = time.monotonic()
    root: Path | None = None
    try:
        tools = _find_tools()
        root = _make_root(args.dir)
        _say(f"demo project: {root}")
        second = run_demo(root, tools)
    except DemoError as e:
        _fail(f"demo: error: {e}", root)
        return 1
    except KeyboardInterrupt:
        _fail("demo: interrupted", root)
        return 130
    if args.cleanup:
        shutil.rmtree(root, ignore_errors=True)
        _say(f"\nremoved {root} (--cleanup)")
    else:
        _next_steps(root, tools, second)
    _say(f"\ndemo finished in {time.monotonic() - started:.1f}s")
    return 0


def run_demo(root: Path, tools: Tools) -> dict[str, str]:
    """The whole story: code in git, data in DVC, a clean run, then a dirty one, then a look.

    Returns the second run's `id` and `short_id`, for the hints that follow.
    """
    _heading("1. a small ML project under git")
    shutil.copytree(PROJECT, root, ignore=COPY_IGNORE, dirs_exist_ok=True)
    _quiet(tools, root, [tools.git, "init", "-q"], "git init")
    _quiet(tools, root, [tools.git, "symbolic-ref", "HEAD", "refs/heads/main"], "git symbolic-ref")
    for key, value in (
        ("user.name", "exp-ledger demo"),
        ("user.email", "demo@example.invalid"),
        ("commit.gpgsign", "false"),
    ):
        _quiet(tools, root, [tools.git, "config", key, value], f"git config {key}")
    _commit(tools, root, "Add the two-moons classifier")
    _say(f"   copied {PROJECT.name}/ (train.py, prepare.py, params.yaml) and committed it")

    _heading("2. data generated and tracked with DVC")
    _quiet(tools, root, [tools.dvc, "init", "-q"], "dvc init")
    _commit(tools, root, "Initialise DVC")
    _quiet(tools, root, [tools.python, "prepare.py"], "python prepare.py")
    _quiet(tools, root, [tools.dvc, "add", "-q", "data/raw"], "dvc add data/raw")
    _commit(tools, root, "Track data/raw with DVC")
    _say("   python prepare.py -> data/raw/{train,test}.csv; dvc add data/raw; committed data/raw.dvc")

    _heading("3. two recorded training runs")
    _shown(tools, root, ["ledger", "run", "--name", "baseline", "--tag", "demo", "--", "python", "train.py"])
    change = ", ".join(f"{k}: {v}" for k, v in SECOND_RUN.items())
    _say(f"\n   editing params.yaml ({change}) and leaving it uncommitted")
    _edit_params(root / "params.yaml", SECOND_RUN)
    _shown(tools, root, ["ledger", "run", "--name", "higher-lr", "--tag", "demo", "--", "python", "train.py"])

    _heading("4. what the ledger recorded")
    _shown(tools, root, ["ledger", "list"])
    second = _runs(tools, root).get("higher-lr")
    if second is None:
        raise DemoError("`ledger list --json` does not list the run named higher-lr")
    _say("")
    _shown(tools, root, ["ledger", "show", second["short_id"]])
    return second


def _find_tools() -> Tools:
    """Prefer the programs installed next to this interpreter (the venv), then PATH."""
    bindir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_") and k not in GIT_LOCATION_VARS}
    env["DVC_NO_ANALYTICS"] = "1"
    env["PATH"] = os.pathsep.join([str(bindir), env.get("PATH", "")])
    ours = bindir / "python"
    python = (
        "python" if ours.exists() and ours.resolve() == Path(sys.executable).resolve() else sys.executable
    )
    return Tools(
        git=_tool("git", hint="install git"),
        dvc=_tool("dvc", hint=f"{sys.executable} -m pip install dvc"),
        ledger=_tool("ledger", hint=f"{sys.executable} -m pip install -e . (from the exp-ledger checkout)"),
        python=python,
        env=env,
    )


def _tool(name: str, *, hint: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise DemoError(f"`{name}` is not installed next to {sys.executable} nor on PATH; try: {hint}")
    return found


def _make_root(wanted: Path | None) -> Path:
    """A new temporary folder, or `--dir` if it is new or empty (never someone's files)."""
    if wanted is None:
        return Path(tempfile.mkdtemp(prefix="exp-ledger-demo-")).resolve()
    root = wanted.expanduser().resolve()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DemoError(f"{root} exists and is not an empty folder; choose a new one with --dir")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _commit(tools: Tools, root: Path, message: str) -> None:
    _quiet(tools, root, [tools.git, "add", "-A"], "git add")
    _quiet(tools, root, [tools.git, "commit", "-q", "-m", message], f"git commit -m {message!r}")


def _edit_params(path: Path, changes: Mapping[str, str]) -> None:
    """Change values in place, keeping comments and order, as a person would in an editor."""
    text = path.read_text()
    for key, value in changes.items():
        text, count = re.subn(rf"^{re.escape(key)}:.*$", f"{key}: {value}", text, flags=re.MULTILINE)
        if count != 1:
            raise DemoError(f"{path}: expected one '{key}:' line to change, found {count}")
    path.write_text(text)


def _runs(tools: Tools, root: Path) -> dict[str, dict[str, str]]:
    """Run name -> {"id", "short_id"}, from `ledger list --json` (what scripts would use)."""
    out = _quiet(tools, root, [tools.ledger, "list", "--all", "--json"], "ledger list --json")
    try:
        runs = json.loads(out)
        return {
            r["name"]: {"id": str(r["id"]), "short_id": str(r["short_id"])} for r in runs if r.get("name")
        }
    except (ValueError, KeyError, TypeError) as e:
        raise DemoError(f"ledger list --json printed something unexpected ({e})") from None


def _quiet(tools: Tools, root: Path, argv: list[str], what: str) -> str:
    """A setup step: output hidden unless it fails, then its last error line is the message."""
    proc = _spawn(tools, root, argv, what, capture=True)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout or "").strip().splitlines()
        detail = f": {lines[-1].strip()}" if lines else ""
        raise DemoError(f"`{what}` failed (exit {proc.returncode}){detail}")
    return proc.stdout or ""


def _shown(tools: Tools, root: Path, argv: list[str]) -> None:
    """A step the user should see: echo it as they would type it, then stream its output."""
    _say(f"\n$ {shlex.join(argv)}")
    names = {"ledger": tools.ledger, "python": tools.python}
    real = [names.get(arg, arg) for arg in argv]
    proc = _spawn(tools, root, real, shlex.join(argv), capture=False)
    if proc.returncode != 0:
        raise DemoError(f"`{shlex.join(argv)}` failed (exit {proc.returncode}); its output is above")


def _spawn(
    tools: Tools, root: Path, argv: list[str], what: str, *, capture: bool
) -> subprocess.CompletedProcess[str]:
    sys.stdout.flush()
    try:
        return subprocess.run(argv, cwd=root, env=tools.env, capture_output=capture, text=True, check=False)
    except OSError as e:
        raise DemoError(f"cannot start `{what}`: {e.strerror or e}") from None


def _next_steps(root: Path, tools: Tools, second: Mapping[str, str]) -> None:
    steps = [
        (f"cd {shlex.quote(str(root))}", ""),
        ("ledger list 'metrics.test_acc > 0.95 and tag:demo'", "the filter language"),
        ("ledger list --sort=-metrics.val_acc --params lr,epochs", "sort, pick columns"),
        (f"git diff HEAD refs/ledger/runs/{second['id']}", "the uncommitted edit, kept by the ledger"),
        ("git status", "...while your tree and index were never touched"),
        (f"ledger log {second['short_id']}", "the run's captured output"),
        ("ledger show baseline --json", "everything, with every metric series"),
    ]
    width = max(len(command) for command, _ in steps)
    _heading("what to try next")
    _say("\n".join(f"  {command:<{width}}  # {why}" if why else f"  {command}" for command, why in steps))
    if shutil.which("ledger") != tools.ledger:
        bindir = Path(tools.ledger).parent
        _say(f"  (ledger is {tools.ledger}: activate its virtualenv or put {bindir} on PATH)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__)
    parser.add_argument(
        "--dir", type=Path, help="build the demo here (new or empty folder) instead of a temp folder"
    )
    parser.add_argument("--cleanup", action="store_true", help="remove the demo folder when done")
    return parser


def _heading(text: str) -> None:
    _say(f"\n== {text}")


def _fail(message: str, root: Path | None) -> None:
    suffix = f" (demo folder kept: {root})" if root is not None else ""
    sys.stderr.write(f"{message}{suffix}\n")
    sys.stderr.flush()


def _say(text: str) -> None:
    """Flushed, so our lines and the children's output appear in the order they happened."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
