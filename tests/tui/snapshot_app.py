"""Build `LedgerApp` against a deterministic ledger: fixed IDs, times, SHAs and clock.

Pilot and snapshot tests share it; runs go in through `ledger.store.writes`, the same
writes `ledger run` makes.
"""

from __future__ import annotations

import hashlib
import subprocess
from array import array
from typing import TYPE_CHECKING

from ledger.capture.log_tee import compress_log
from ledger.core import chunks, records
from ledger.core.ids import RunId
from ledger.core.lockfile import Environment, Package
from ledger.core.records import DataItem, Metric, OutputFile, Param
from ledger.store import writes as recorder
from ledger.store.engine import connect
from ledger.tui.app import LedgerApp
from ledger.tui.services import Services

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from ledger.core.param_values import ParamValue
    from ledger.store.engine import Store

BASE = 1_767_225_600.0
"""2026-01-01T00:00:00Z: runs start from here."""
NOW = BASE + 3 * 86400.0
"""The frozen clock: three days after the first run."""
SIZE = (120, 36)

ENV_A = Environment(
    python_version="3.11.9",
    implementation="CPython",
    platform="Linux-6.8-x86_64",
    packages=(
        Package("numpy", "1.26.4", "index"),
        Package("pyyaml", "6.0.1", "index"),
        Package("torch", "2.3.0", "index"),
        Package("mylib", "0.1.0", "local", url="file:///home/alice/mylib", editable=True),
    ),
    torch="2.3.0",
)
ENV_B = Environment(
    python_version="3.11.9",
    implementation="CPython",
    platform="Linux-6.8-x86_64",
    packages=(
        Package("numpy", "2.0.0", "index"),
        Package("pyyaml", "6.0.1", "index"),
        Package("torch", "2.3.0", "index"),
        Package("rich", "13.7.1", "index"),
    ),
    torch="2.3.0",
)


def run_id(n: int) -> RunId:
    """A fixed, well-spread 32-hex-digit ID (short IDs stay 7 characters)."""
    return RunId(hashlib.sha256(f"run-{n}".encode()).hexdigest()[:32])


def sha(text: str) -> str:
    """A fixed fake commit SHA."""
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - a label, not security


RUNS = {
    "baseline": run_id(1),
    "wider": run_id(2),
    "sgd": run_id(3),
    "live": run_id(4),
    "crashed": run_id(5),
    "commit": run_id(6),
}


def seed(store: Store, *, commits: dict[str, str] | None = None) -> dict[str, RunId]:
    """Six runs covering every status, with params, metrics, series, data, env and logs.

    `commits` maps run names to real commit SHAs (for tests with a git repository);
    otherwise fake SHAs are used.
    """
    commits = commits or {}

    def commit_of(name: str) -> str:
        return commits.get(name, sha(name))

    _run(
        store, "baseline", 0, status="finished", lr=0.01, batch=32, optimizer="adam",
        metrics={"acc": 0.81, "loss": 0.52}, series={"loss": _curve(0.9, 0.52, 20), "acc": _curve(0.4, 0.81, 20)},
        tags=("baseline",), env=ENV_A, commit=commit_of("baseline"), snapshot=commits.get("snapshot"), log="epoch 1 loss 0.9\nepoch 2 loss 0.7\ndone: acc 0.81\n",
        data=("3f2a9c0d1e", "a1b2c3d4e5"),
    )  # fmt: skip
    _run(
        store, "wider", 1, status="finished", lr=0.005, batch=64, optimizer="adam",
        metrics={"acc": 0.86, "loss": 0.44}, series={"loss": _curve(0.85, 0.44, 20), "acc": _curve(0.45, 0.86, 20)},
        tags=("best",), env=ENV_B, commit=commit_of("wider"), log="epoch 1 loss 0.85\ndone: acc 0.86\n",
        data=("3f2a9c0d1e", "ffeeddccbb"),
    )  # fmt: skip
    _run(
        store, "sgd", 2, status="failed", lr=0.1, batch=32, optimizer="sgd",
        metrics={"acc": float("nan"), "loss": 2.3}, series={"loss": _curve(2.3, 2.3, 5)},
        tags=("debug",), env=ENV_A, commit=commit_of("sgd"), exit_code=1,
        log="Traceback (most recent call last):\nValueError: loss is nan\n",
    )  # fmt: skip
    _run(
        store, "live", 3, status="running", lr=0.001, batch=128, optimizer="adamw",
        metrics={"acc": 0.5}, series={"loss": _curve(1.0, 0.7, 8)}, env=ENV_B, commit=commit_of("live"),
    )  # fmt: skip
    _run(
        store,
        "crashed",
        4,
        status="crashed",
        lr=0.01,
        batch=16,
        optimizer="adam",
        commit=commit_of("crashed"),
    )
    recorder.store_log(store, RUNS["crashed"], b"not zlib at all", size=15, truncated=False)
    _run(store, "commit", 5, status="finished", lr=0.02, batch=32, optimizer="adam", name=None, source="commit",
         metrics={"acc": 0.79}, commit=commit_of("commit"))  # fmt: skip
    return dict(RUNS)


def seed_many(store: Store, count: int) -> list[RunId]:
    """`count` small finished runs (for paging), newest last."""
    ids = []
    for i in range(count):
        rid = run_id(1000 + i)
        record_run(
            store, rid, started_at=BASE + 100 + i * 60, name=f"sweep-{i:03d}",
            params={"lr": round(0.001 * (i + 1), 6)}, metrics={"acc": i / count},
        )  # fmt: skip
        ids.append(rid)
    return ids


def record_run(
    store: Store,
    rid: RunId,
    *,
    started_at: float,
    name: str,
    params: dict[str, ParamValue],
    metrics: dict[str, float],
) -> None:
    """A finished run, written as `ledger run` writes one (params first, final metrics at the end)."""
    recorder.create_run(
        store,
        records.NewRun(
            id=rid, source="run", started_at=started_at, name=name,
            params=[Param(k, v, "params.yaml") for k, v in params.items()], status="running",
        ),
    )  # fmt: skip
    recorder.finish_run(
        store,
        rid,
        records.RunEnd(
            status="finished",
            ended_at=started_at + 30,
            exit_code=0,
            metrics=[Metric(k, v, None, "metrics.json") for k, v in metrics.items()],
        ),
    )


def uuid7(millisecond: int, counter: int, rand: int) -> RunId:
    """A UUIDv7 as `ledger.core.ids.new_run_id` lays it out, for a chosen time, counter and random part."""
    value = (millisecond << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return RunId(f"{value:032x}")


def make_app(
    path: Path, *, count: int = 0, root: Path | None = None, commits: dict[str, str] | None = None
) -> LedgerApp:
    """A seeded ledger at `path` and an app on it with a frozen clock."""
    store = connect(f"sqlite:///{path}", upgrade=True)
    seed(store, commits=commits)
    if count:
        seed_many(store, count)
    return app_on(store, path, root=root)


def app_at(path: Path) -> LedgerApp:
    """The app on the ledger already seeded at `path`, with a frozen clock."""
    return app_on(connect(f"sqlite:///{path}", upgrade=True), path)


def app_on(store: Store, path: Path, *, root: Path | None = None) -> LedgerApp:
    """The app on the ledger at `path` (open as `store`), with a frozen clock."""
    services = Services(
        store=store,
        root=root,
        settings_path=path.with_name("ui.json"),
        clock=lambda: NOW,
        poll_interval=0.2,
    )
    return LedgerApp(services)


def make_repo(root: Path) -> dict[str, str]:
    """A git repository with one commit per run and a dirty snapshot for `baseline`.

    Returns the run name -> commit SHA map; `snapshots["baseline"]` is reachable too.
    """
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.01\nprint('training')\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "Train with adam")
    base = _git(root, "rev-parse", "HEAD")
    (root / "train.py").write_text("lr = 0.01\nbatch = 32\nprint('training', batch)\n")
    _git(root, "add", "-A")
    tree = _git(root, "write-tree")
    snapshot = _git(root, "commit-tree", tree, "-p", base, "-m", "ledger snapshot")
    _git(root, "reset", "-q", "--hard", base)
    _git(root, "update-ref", "refs/ledger/runs/baseline", snapshot)
    return {"baseline": base, "wider": base, "snapshot": snapshot}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def _curve(start: float, end: float, steps: int) -> chunks.Points:
    values = [start + (end - start) * (i / max(1, steps - 1)) ** 0.5 for i in range(steps)]
    return chunks.Points(
        array("q", range(steps)),
        array("q", (int(BASE * 1000) + i * 1500 for i in range(steps))),
        array("d", values),
    )


def _run(
    store: Store,
    key: str,
    index: int,
    *,
    status: str,
    lr: float,
    batch: int,
    optimizer: str,
    metrics: dict[str, float] | None = None,
    series: dict[str, chunks.Points] | None = None,
    tags: Sequence[str] = (),
    env: Environment | None = None,
    commit: str | None = None,
    exit_code: int | None = 0,
    log: str | None = None,
    data: tuple[str, str] | None = None,
    snapshot: str | None = None,
    name: str | None = "",
    source: str = "run",
) -> None:
    rid = RUNS[key]
    started = BASE + index * 3600
    data_items = []
    if data is not None:
        data_items = [
            DataItem(
                "data/raw", "dep", "md5", data[0] + ".dir", 52_000_000, 1200, "dvc.lock", "prepare", True
            ),
            DataItem("data/train.csv", "out", "md5", data[1], 1_250_000, None, "dvc.lock", "prepare", False),
        ]
    recorder.create_run(
        store,
        records.NewRun(
            id=rid, source=source, started_at=started, name=key if name == "" else name,
            argv=("python", "train.py", "--lr", str(lr)), cwd="/home/alice/project", host="gpu-box", user="alice",
            commit=commit, branch="main" if index % 2 == 0 else "exp/wide", dirty=index == 0,
            snapshot=snapshot if key == "baseline" else commit, environment=env, tags=tuple(tags),
            params=[Param("lr", lr, "params.yaml"), Param("batch_size", batch, "params.yaml"),
                    Param("optimizer", optimizer, "params.yaml")],
            seeds={"python": 42}, data=data_items, status="running",
        ),
    )  # fmt: skip
    if series:
        recorder.add_points(store, rid, series)
    if status != "running":
        recorder.finish_run(
            store,
            rid,
            records.RunEnd(
                status=status, ended_at=started + 600 + index * 30, exit_code=exit_code if status != "crashed" else None,
                metrics=[Metric(k, v, None, "metrics.json") for k, v in (metrics or {}).items()],
                outputs=[OutputFile("models/model.pt", "md5", "0badc0ffee", 4_200_000)] if key == "baseline" else [],
                log=None if log is None else compress_log(log.encode()),
                log_size=0 if log is None else len(log),
            ),
        )  # fmt: skip
    elif metrics:
        with store.writing_core() as conn:
            recorder.write_final_metrics(
                store, conn, rid, [Metric(k, v, 3, "api") for k, v in metrics.items()]
            )
