"""Shared helpers of the benchmark scripts: timing, scratch git repos, tables."""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

ROOT = Path(__file__).resolve().parent.parent
"""The exp-ledger checkout these benchmarks measure."""

WORK = ROOT / "benchmarks" / ".work"
"""Scratch space (gitignored): repos, ledgers, profiles."""

PYTHON = sys.executable
BIN = Path(sys.executable).parent

IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench Committer",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options every benchmark takes (`--quick` for the smoke-test size)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke test)")
    return parser.parse_args(argv)


def ledger_command() -> list[str]:
    """How a user starts the CLI: the venv's console script, else `python -m ledger`."""
    script = BIN / "ledger"
    if script.is_file():
        return [str(script)]
    return [PYTHON, "-m", "ledger"]


def work_dir(name: str) -> Path:
    """A fresh, empty scratch folder `benchmarks/.work/<name>`."""
    path = WORK / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def bench_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment isolated from the machine: no global git config, no LEDGER_*.

    The venv's bin comes first on PATH so `ledger` and `python` are the ones measured.
    """
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.touch()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "GIT_", "PRE_COMMIT", "PYTHON"))
    }
    env.update(IDENTITY)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".state"),
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        DVC_NO_ANALYTICS="1",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if extra:
        env.update(extra)
    return env


def git(repo: Path, *args: str, env: Mapping[str, str]) -> str:
    """Run git in `repo`; its stripped stdout."""
    proc = subprocess.run(["git", *args], cwd=repo, env=dict(env), capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def make_repo(
    path: Path,
    *,
    env: Mapping[str, str],
    files: int = 0,
    dirty: int = 0,
    untracked: int = 0,
) -> Path:
    """A git repo with `files` committed small files, `dirty` of them then modified,
    and `untracked` new files; at least one commit either way."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main", env=env)
    per_dir = 50
    names = [f"src/pkg{i // per_dir:03d}/mod{i % per_dir:03d}.py" for i in range(files)]
    for i, name in enumerate(names):
        file = path / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f'"""Module {i}."""\n\nVALUE = {i}\n\n\ndef f(x):\n    return x + VALUE\n')
    (path / "README.md").write_text("benchmark repo\n")
    git(path, "add", "-A", env=env)
    git(path, "commit", "-q", "-m", "initial", env=env)
    for name in names[:dirty]:
        with (path / name).open("a") as f:
            f.write("# edited\n")
    for i in range(untracked):
        (path / f"scratch_{i}.py").write_text(f"print({i})\n")
    return path


def run_timed(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], check: bool = True
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of one subprocess, start to exit, with its captured output."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), cwd=cwd, env=dict(env), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return elapsed, proc


def median_time(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], repeats: int, warmup: int = 1
) -> float:
    """Median wall time of a subprocess over `repeats` runs, after `warmup` untimed ones."""
    for _ in range(warmup):
        run_timed(argv, cwd=cwd, env=env)
    return statistics.median(run_timed(argv, cwd=cwd, env=env)[0] for _ in range(repeats))


def alternate(cases: Mapping[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run each timing callable `repeats` times, interleaved (A B A B ...), so drift
    in machine load hits every case alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            times[name].append(case())
    return times


def median(values: Iterable[float]) -> float:
    """Median of the repeats (robust to one slow outlier)."""
    return statistics.median(list(values))


def importtime_top(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    top: int = 12,
    packages: bool = False,
) -> list[tuple[str, float]]:
    """The slowest imports of a Python command, by cumulative seconds.

    `argv` is what follows the interpreter (e.g. `["-m", "ledger", "list"]`). By
    default only the imports the program itself triggered (nesting level 0); with
    `packages`, every root package (`sqlalchemy`, `git`...) wherever it was first
    imported, which overlap when one package imports another.
    """
    _, proc = run_timed([PYTHON, "-X", "importtime", *argv], cwd=cwd, env=env, check=False)
    found: list[tuple[str, float]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        nested = name.startswith("  ")  # level 0 is one space; each level adds two
        name = name.strip()
        if (packages and "." in name) or (not packages and nested):
            continue
        found.append((name, int(cumulative) / 1e6))
    found.sort(key=lambda item: item[1], reverse=True)
    return found[:top]


def profile_functions(profile: Path, wanted: Sequence[tuple[str, str]]) -> list[tuple[str, float | None]]:
    """Cumulative seconds of named functions in a cProfile dump.

    `wanted` holds (path suffix, function name) pairs; a missing one gives None.
    """
    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    result: list[tuple[str, float | None]] = []
    for suffix, func in wanted:
        total = None
        for (filename, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.items():
            if name == func and filename.replace(os.sep, "/").endswith(suffix):
                total = (total or 0.0) + ct
        label = f"{suffix.removesuffix('.py').replace('/', '.')}.{func}"
        if suffix.startswith("<frozen importlib"):
            label = f"all imports ({func}, outermost calls)"
        result.append((label, total))
    return result


def profile_top(
    profile: Path, *, under: str | None = None, key: str = "cumulative", top: int = 12
) -> list[tuple[str, int, float, float]]:
    """The top functions of a cProfile dump: (where, calls, own s, cumulative s).

    `under` keeps only functions whose file path contains it (e.g. "/ledger/").
    """
    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), (_cc, nc, tt, ct, _callers) in stats.items():
        path = filename.replace(os.sep, "/")
        if under is not None and under not in path:
            continue
        short = "/".join(path.split("/")[-2:]) if "/" in path else path
        rows.append((f"{short}:{line}({name})", nc, tt, ct))
    index = 3 if key == "cumulative" else 2
    rows.sort(key=lambda r: r[index], reverse=True)
    return rows[:top]


def table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Print an aligned plain-text table (numbers right-aligned) to stdout."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    numeric = [
        all(_is_number(row[i]) for row in cells if i < len(row)) and bool(cells) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    out = [f"\n{title}", line(headers), "  ".join("-" * w for w in widths).rstrip()]
    out += [line(row) for row in cells]
    say("\n".join(out))


def machine() -> str:
    """CPU count and load average: figures taken on a busy machine read slower."""
    one, five, _ = os.getloadavg()
    return f"machine: {os.cpu_count()} CPUs, load average {one:.2f} (1 min), {five:.2f} (5 min)"


def say(text: str = "") -> None:
    """Write a line of the report to stdout (flushed, so progress shows as it runs)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def seconds(value: float | None) -> str:
    """A duration as `0.123 s`, or `-` when unknown."""
    return "-" if value is None else f"{value:.3f} s"


def ratio(value: float, digits: int = 2) -> str:
    """A ratio as `0.42x` (more digits where a goal sits close to it)."""
    return f"{value:.{digits}f}x"


def verdict(ok: bool) -> str:
    """Goal met or not, as printed in the tables."""
    return "ok" if ok else "MISSED"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    head = text.split(" ", 1)[0].rstrip("x%").replace(",", "")
    try:
        float(head)
    except ValueError:
        return text == "-"
    return True
