"""`ledger ui` on a ledger of 100,000 runs: first paint, a filter keystroke, opening a run, memory.

Two views of the same app:
- in a real terminal (tmux, 120x36): wall time from launching the program to the rows on
  screen, from a key sent to the new rows on screen, and the process's peak memory;
  times are read by polling `tmux capture-pane` (each poll costs a few ms: the resolution);
- in-process (Textual's headless Pilot): the same steps without terminal I/O, to show
  where the time goes.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from array import array
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _common as c
import bench_list

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

GOALS = {"first paint": 1.0, "filter keystroke": 0.100, "open detail": 0.200}
"""Seconds; and peak memory below MEMORY_GOAL_MB."""
MEMORY_GOAL_MB = 300
SIZES = {"full": 100_000, "quick": 5_000}
KEYSTROKES = (
    ("metrics.acc > 0.", "9", "a metric compared (EXISTS on the metrics index)"),
    ("tag:bes", "t", "a tag (EXISTS on the tags table)"),
    ("run-424", "2", "a word in run names (LIKE, scans names)"),
)
"""(typed before, the measured key, what it exercises)."""
STEPS = 100
SERIES_KEY = "loss"


def main(argv: Sequence[str] | None = None) -> int:
    """Build the ledger, then measure in tmux and in-process (each in a fresh process)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--measure-in-process"]:
        print(json.dumps(asyncio.run(_in_process(Path(args[1])))))
        return 0
    reuse = "--reuse" in args
    opts = c.parse_args(__doc__ or "", [a for a in args if a != "--reuse"])
    size = SIZES["quick" if opts.quick else "full"]
    db = c.WORK / "tui-ledgers" / f"ledger-{size}.db"
    work = c.work_dir("tui")
    env = c.bench_env(work / "home")
    repo = c.make_repo(work / "repo", env=env)
    c.say(c.machine())
    if not (reuse and db.exists()):
        db.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        bench_list._build(db, size)
        _add_series(db)
        c.say(f"built the ledger in {time.perf_counter() - started:.1f} s")
    c.say(
        f"{size:,} runs (10 params, 5 metrics, a {STEPS}-step '{SERIES_KEY}' series each): "
        f"{db.stat().st_size / 1e6:.0f} MB of SQLite"
    )
    ui_env = {**env, "LEDGER_URL": f"sqlite:///{db}", "TERM": "xterm-256color"}
    if shutil.which("tmux"):
        rows = _in_terminal(db, repo, ui_env, repeats=3 if opts.quick else 5)
        c.table(
            f"ledger ui on {size:,} runs, in a real terminal (tmux 120x36)",
            ["what", "measured", "goal", ""],
            rows,
        )
    else:
        c.say("tmux is not installed: no real-terminal figures")
    proc = subprocess.run(
        [c.PYTHON, __file__, "--measure-in-process", str(db)],
        cwd=repo, env=ui_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"in-process measurement failed:\n{proc.stderr}")
    inside: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = [
        ["app start to the first page in the table", c.seconds(inside["first_page"]), "", ""],
        ["filter keystroke to its first page, median", c.seconds(inside["keystroke_median"]), "", ""],
        ["filter keystroke, worst", c.seconds(inside["keystroke_max"]), "", ""],
        ["open detail (overview filled)", c.seconds(inside["detail"]), "", ""],
        ["End key: jump to the last run (its page loaded)", c.seconds(inside["end"]), "", ""],
        ["rows held by the table after the jump", str(inside["rows_held"]), "", ""],
        ["peak RSS of the process", f"{inside['peak_mb']:.0f} MB", "", ""],
    ]
    c.table(
        f"ledger ui on {size:,} runs, in-process (headless Pilot)", ["what", "measured", "goal", ""], rows
    )
    c.say(f"\n{c.machine()}")
    return 0


def _add_series(db: Path) -> None:
    """Give every run a STEPS-point series, stored as the recorder stores it (one chunk)."""
    from sqlalchemy import insert, select

    from ledger.core import chunks
    from ledger.store import tables
    from ledger.store.engine import connect

    store = connect(f"sqlite:///{db}")
    rng = random.Random(7)
    with store.engine.begin() as conn:
        ids = [row[0] for row in conn.execute(select(tables.RunRow.id, tables.RunRow.started_at))]
        conn.execute(insert(tables.SeriesRow), [{"run_id": run_id, "key": SERIES_KEY} for run_id in ids])
        series = dict(conn.execute(select(tables.SeriesRow.run_id, tables.SeriesRow.id)).all())
        batch: list[dict[str, object]] = []
        for run_id in ids:
            end = rng.uniform(0.05, 1.0)
            values = [end + (2.0 - end) * math.exp(-i / 20) + rng.gauss(0, 0.02) for i in range(STEPS)]
            points = chunks.Points(
                array("q", range(STEPS)),
                array("q", (1_700_000_000_000 + i * 1000 for i in range(STEPS))),
                array("d", values),
            )
            batch.append(
                {
                    "series_id": series[run_id], "count": STEPS, "first_step": 0, "last_step": STEPS - 1,
                    "codec": chunks.CODEC, "payload": chunks.encode(points),
                }
            )  # fmt: skip
            if len(batch) == 10_000:
                conn.execute(insert(tables.MetricChunkRow), batch)
                batch = []
        if batch:
            conn.execute(insert(tables.MetricChunkRow), batch)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


# -- in a real terminal ------------------------------------------------------------------


class _Tmux:
    """A tmux server of our own with one 120x36 window."""

    def __init__(self) -> None:
        self.socket = f"ledger-bench-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        tmux = shutil.which("tmux") or "tmux"
        return subprocess.run(
            [tmux, "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        ).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "ui")

    def wait(self, found: Callable[[str], bool], *, since: float, timeout: float = 30.0) -> float:
        """Seconds from `since` until the screen satisfies `found`."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if found(self.screen()):
                return time.perf_counter() - since
            time.sleep(0.002)
        raise RuntimeError(f"the screen never matched; last screen:\n{self.screen()}")


def _in_terminal(db: Path, repo: Path, env: dict[str, str], *, repeats: int) -> list[list[object]]:
    expected = _expected(db)
    paints, keys, details, peaks = [], [], [], []
    for _ in range(repeats):
        tmux = _Tmux()
        try:
            tmux("new-session", "-d", "-x", "120", "-y", "36", "-s", "ui", "-c", str(repo), "sleep 600")
            env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
            start = time.perf_counter()
            tmux("respawn-pane", "-k", "-t", "ui", "-c", str(repo), *env_args, c.PYTHON, "-m", "ledger.tui")
            paints.append(tmux.wait(lambda s: expected["newest"] in s, since=start))
            tmux.wait(lambda s: " runs" in s and "counting" not in s, since=start)
            for before, key, _ in KEYSTROKES:
                # Each step waits for the screen to show the previous one: a key sent while
                # Textual still waits to tell a lone Escape from an escape sequence merges
                # with it, and keys sent within ms of a focus change can be lost (tmux).
                tmux("send-keys", "-t", "ui", "/")
                tmux.wait(lambda s: "f1 Help" in s, since=time.perf_counter())
                time.sleep(0.3)
                tmux("send-keys", "-t", "ui", "C-u")
                time.sleep(0.3)
                tmux("send-keys", "-t", "ui", "-l", before)
                tmux.wait(partial(_shows, text=before, first=expected[before]), since=time.perf_counter())
                time.sleep(0.3)
                start = time.perf_counter()
                tmux("send-keys", "-t", "ui", "-l", key)
                after = before + key
                keys.append(tmux.wait(partial(_shows, text=after, first=expected[after]), since=start))
                tmux("send-keys", "-t", "ui", "Escape")
                tmux.wait(lambda s: "Diff marked" in s, since=time.perf_counter())
                time.sleep(0.3)
            start = time.perf_counter()
            tmux("send-keys", "-t", "ui", "Enter")
            details.append(tmux.wait(lambda s: "command " in s and "Overview" in s, since=start))
            pid = tmux("display", "-p", "-t", "ui", "#{pane_pid}").strip()
            peaks.append(_peak_mb(int(pid)))
            tmux("send-keys", "-t", "ui", "q")
        finally:
            tmux("kill-server")
    per_key: list[list[object]] = [
        [f"  keystroke: {what}", c.seconds(statistics.median(keys[i :: len(KEYSTROKES)])), "", ""]
        for i, (_, _, what) in enumerate(KEYSTROKES)
    ]
    return [
        ["terminal: launch to first painted table, median", c.seconds(statistics.median(paints)),
         f"< {GOALS['first paint']} s", c.verdict(statistics.median(paints) < GOALS["first paint"])],
        ["terminal: filter keystroke to new rows, median", c.seconds(statistics.median(keys)),
         f"< {GOALS['filter keystroke']} s", c.verdict(statistics.median(keys) < GOALS["filter keystroke"])],
        ["terminal: filter keystroke, worst of all", c.seconds(max(keys)), "", ""],
        *per_key,
        ["terminal: enter to the run's overview, median", c.seconds(statistics.median(details)),
         f"< {GOALS['open detail']} s", c.verdict(statistics.median(details) < GOALS["open detail"])],
        ["terminal: peak memory (VmHWM), max", f"{max(peaks):.0f} MB", f"< {MEMORY_GOAL_MB} MB",
         c.verdict(max(peaks) < MEMORY_GOAL_MB)],
    ]  # fmt: skip


def _expected(db: Path) -> dict[str, str]:
    """The name of the first run shown for each filter (to know when the screen has it)."""
    from ledger.core.filters import parse_filter
    from ledger.read import windows
    from ledger.store.engine import connect

    store = connect(f"sqlite:///{db}")
    found = {"newest": windows.list_page(store, limit=1).runs[0].name or ""}
    for before, key, _ in KEYSTROKES:
        for text in (before, before + key):
            runs = windows.list_page(store, where=parse_filter(text), limit=1).runs
            found[text] = runs[0].name or "" if runs else ""
    store.close()
    return found


def _shows(screen: str, text: str, first: str) -> bool:
    """The filter box holds `text` and the table's first row is run `first` (or empty)."""
    lines = screen.splitlines()
    if len(lines) < 2 or text not in lines[1]:
        return False
    return _first_row(screen) == first if first else "No run matches" in screen


def _first_row(screen: str) -> str:
    """The NAME cell of the first table row (empty when the table is empty)."""
    lines = screen.splitlines()
    for i, line in enumerate(lines):
        if "STATUS" in line and "NAME" in line:
            start = line.index("NAME")
            row = lines[i + 1] if i + 1 < len(lines) else ""
            return row[start:].split(" ", 1)[0] if row.strip() else ""
    return ""


def _peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match[1]) / 1024 if match else float("nan")


# -- in-process ------------------------------------------------------------------------


async def _in_process(db: Path) -> dict[str, Any]:
    """The same steps under Textual's headless Pilot, timed inside the process."""
    from textual.widgets import Input

    from ledger.store.engine import connect
    from ledger.tui.app import LedgerApp
    from ledger.tui.screens.detail import RunDetailScreen
    from ledger.tui.screens.runs import RunsScreen
    from ledger.tui.services import Services
    from ledger.tui.widgets.runs_table import RunsTable

    async def settled(screen: RunsScreen, before: int) -> None:
        """The filter's query started (the generation moved) and its first page is shown."""
        await until(lambda: screen.generation > before and screen.shown_generation == screen.generation)

    async def until(check: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout
        while not check():
            if time.perf_counter() > deadline:
                raise RuntimeError("timed out")
            await asyncio.sleep(0.001)

    start = time.perf_counter()
    store = connect(f"sqlite:///{db}")
    app = LedgerApp(Services(store=store, root=Path.cwd()))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        table = screen.query_one(RunsTable)
        await until(lambda: len(table.loaded_keys()) > 0)
        first_page = time.perf_counter() - start
        await until(lambda: screen.total is not None)
        box = screen.query_one("#filter-input", Input)
        keystrokes = []
        for before, key, _ in KEYSTROKES:
            generation = screen.generation
            box.value = before
            await settled(screen, generation)
            await pilot.pause()
            generation = screen.generation
            tick = time.perf_counter()
            box.value = before + key
            await settled(screen, generation)
            keystrokes.append(time.perf_counter() - tick)
        generation = screen.generation
        box.value = ""
        await settled(screen, generation)
        await until(lambda: screen.total is not None and table.total == screen.total)
        table.focus()
        tick = time.perf_counter()
        table.action_jump(-1)
        await until(lambda: table.cursor_key is not None and table.cursor == table.total - 1)
        end = time.perf_counter() - tick
        rows_held = len(table.loaded_keys())
        table.action_jump(0)
        await until(lambda: table.cursor_key is not None)
        tick = time.perf_counter()
        table.action_open()
        await until(lambda: isinstance(app.screen, RunDetailScreen) and app.screen.detail is not None)
        detail = time.perf_counter() - tick
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent that built the ledger.
    peak = _peak_mb(os.getpid())
    return {
        "first_page": first_page,
        "keystroke_median": statistics.median(keystrokes),
        "keystroke_max": max(keystrokes),
        "detail": detail,
        "end": end,
        "rows_held": rows_held,
        "peak_mb": peak,
    }


if __name__ == "__main__":
    sys.exit(main())
