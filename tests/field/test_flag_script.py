"""Field corpus (b): a plain script driven only by CLI flags, as course projects are.

The shape, seen in a plain-PyTorch course project: argparse flags and no params file,
a preprocessing step that writes a git-ignored `data/processed/` folder, tracked binary
outputs (a model file and a PNG) rewritten by every run, the loss printed only on
stdout (`Epoch 3/5 - loss: 0.191234 - val_acc: 0.8123`) beside a tqdm-like bar on
stderr and timestamped logging lines, `print(args)` at the start, and no seed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json
from tests.projects import ShownRun, building

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

PY = sys.executable
TORCHRUN = str(Path(PY).parent / "torchrun")
SECRET = "sk-proj-" + "Zq3v8Xk2Lm9Tn4Rb" * 2
"""An OpenAI-format key (built, so that no scanner takes this file for a leak)."""

PREPROCESS = '''\
"""Turn raw CSV into tensor shards under data/processed (git-ignored)."""
import struct
from pathlib import Path

out = Path("data/processed")
out.mkdir(parents=True, exist_ok=True)
rows = [line.split(",") for line in Path("data/raw.csv").read_text().splitlines()[1:]]
for shard in range(3):
    part = rows[shard::3]
    (out / f"shard_{shard}.pt").write_bytes(b"PTSHARD" + b"".join(struct.pack("<2f", float(a), float(b)) for a, b in part))
print(f"wrote 3 shards to {out}")
'''

TRAIN = """\
import argparse
import logging
import random
import struct
import sys
import zlib
from pathlib import Path

logging.basicConfig(format="%(asctime)s - %(levelname)s - %(message)s", level=logging.INFO)
log = logging.getLogger("train")

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--api-key", default=None, help="for uploading the model")
args = parser.parse_args()
print(args)

shards = sorted(Path("data/processed").glob("*.pt"))
points = []
for shard in shards:
    raw = shard.read_bytes()[len(b"PTSHARD"):]
    points += [struct.unpack_from("<2f", raw, i) for i in range(0, len(raw), 8)]
log.info("loaded %d points from %d shards (torch 2.1.0, host=127.0.0.1)", len(points), len(shards))

w = random.random()  # no seed: every run starts elsewhere
losses = []
for epoch in range(1, args.epochs + 1):
    batches = 5
    for b in range(batches + 1):
        grad = sum((w * x - y) * x for x, y in points) / len(points)
        if b < batches:
            w -= args.lr * grad
        bar = "#" * (2 * b) + " " * (2 * (batches - b))
        rate = 40.0 + b
        running = sum((w * x - y) ** 2 for x, y in points) / len(points)
        sys.stderr.write(f"\\r{100 * b // batches:3d}%|{bar}| {b}/{batches} [00:00<00:00, {rate:.2f}it/s, loss={running:.3f}]")
    sys.stderr.write("\\n")
    loss = sum((w * x - y) ** 2 for x, y in points) / len(points)
    val_acc = 1.0 / (1.0 + loss)
    losses.append(loss)
    print(f"Epoch {epoch}/{args.epochs} - loss: {loss:.6f} - val_acc: {val_acc:.4f}")

out = Path("artifacts")
Path(out, "model.bin").write_bytes(b"MODEL" + struct.pack("<d", w))
pixels = bytes(min(255, int(v * 255)) for v in losses)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", len(pixels), 1, 8, 0, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"\\x00" + pixels)) + chunk(b"IEND", b"")
Path(out, "loss.png").write_bytes(png)
log.info("saved artifacts/model.bin and artifacts/loss.png (elapsed: 00:00:01)")
"""


def build_flag_script(repo: TmpRepo) -> None:
    """Generate the project and commit it (the outputs of a first run included)."""
    raw = "x,y\n" + "".join(f"{i / 10},{2 * i / 10 + 0.1 * ((i * 7) % 3)}\n" for i in range(30))
    repo.gen(
        {
            ".gitignore": "data/processed/\n__pycache__/\n",
            "data/raw.csv": raw,
            "preprocess.py": PREPROCESS,
            "train.py": TRAIN,
            "artifacts/model.bin": b"MODEL\x00\x00\x00\x00\x00\x00\x00\x00",
            "artifacts/loss.png": b"\x89PNG\r\n\x1a\n",
            "README.md": "python preprocess.py && python train.py --lr 0.05\n",
        }
    )
    repo.commit("course project")


def _run(repo: TmpRepo, *command: str) -> dict[str, Any]:
    ledger_process("run", "--", *command, cwd=repo.root)
    return show_json("latest", cwd=repo.root)


def _printed_epochs(repo: TmpRepo, run_id: str) -> list[tuple[int, float, float]]:
    """(epoch, loss, val_acc) as the script printed them, from the run's stored log."""
    text = ledger("log", run_id, cwd=repo.root).stdout
    return [
        (int(m[1]), float(m[2]), float(m[3]))
        for m in re.finditer(r"^Epoch (\d+)/\d+ - loss: (\S+) - val_acc: (\S+)$", text, re.MULTILINE)
    ]


@pytest.fixture(scope="session")
def preprocessed(tmp_path_factory: pytest.TempPathFactory) -> TmpRepo:
    """The project after its preprocessing run, made once: each test trains on a copy."""
    with building(tmp_path_factory, "flag-script") as repo:
        build_flag_script(repo)
        ledger_process("run", "--", PY, "preprocess.py", cwd=repo.root)
    assert sorted(p.name for p in (repo.root / "data/processed").iterdir()) == [
        "shard_0.pt",
        "shard_1.pt",
        "shard_2.pt",
    ]
    return repo


@pytest.fixture
def project(preprocessed: TmpRepo, own_copy: Callable[[TmpRepo], TmpRepo]) -> TmpRepo:
    return own_copy(preprocessed)


@pytest.fixture(scope="session")
def trained(preprocessed: TmpRepo, tmp_path_factory: pytest.TempPathFactory) -> ShownRun:
    """A training run of four epochs at lr 0.05, made once on a copy of `preprocessed`:
    read as it is, or run again beside (`own_copy`)."""
    with building(tmp_path_factory, "flag-script-trained", preprocessed.root) as repo:
        shown = _run(repo, PY, "-u", "train.py", "--lr", "0.05", "--epochs", "4")
    return ShownRun(repo, shown)


@pytest.fixture(scope="session")
def secret_run(preprocessed: TmpRepo, tmp_path_factory: pytest.TempPathFactory) -> ShownRun:
    """A training run given an API key on its command line, made once on a copy of
    `preprocessed`: the tests of where the key must not be read it."""
    with building(tmp_path_factory, "flag-script-secret", preprocessed.root) as repo:
        shown = _run(repo, PY, "-u", "train.py", "--lr", "0.05", "--epochs", "2", "--api-key", SECRET)
    return ShownRun(repo, shown)


def test_flags_are_the_params_and_printed_metrics_are_series_from_the_log(trained: ShownRun) -> None:
    project, shown = trained.repo, trained.shown  # train.py --lr 0.05 --epochs 4
    run = shown["run"]
    run_id = run["summary"]["id"]

    assert {p["key"]: (p["value"], p["source"]) for p in run["params"]} == {
        "lr": (0.05, "argv"),
        "epochs": (4, "argv"),
    }
    printed = _printed_epochs(project, run_id)
    assert [e for e, _, _ in printed] == [1, 2, 3, 4]
    # Only the epoch lines: not the tqdm bars' `loss=`, the `print(args)` Namespace
    # (lr=0.05, batch_size=32...), the logging lines' timestamps, version, host, elapsed.
    assert {m["key"]: (m["value"], m["step"], m["source"]) for m in run["metrics"]} == {
        "loss": (printed[-1][1], 4, "log"),
        "val_acc": (printed[-1][2], 4, "log"),
    }
    assert sorted(shown["series"]) == ["loss", "val_acc"]
    assert shown["series"]["loss"]["steps"] == [1, 2, 3, 4]
    assert shown["series"]["loss"]["values"] == [loss for _, loss, _ in printed]
    assert shown["series"]["val_acc"]["values"] == [acc for _, _, acc in printed]
    outputs = {o["path"] for o in run["outputs"]}
    assert {"artifacts/model.bin", "artifacts/loss.png"} <= outputs
    assert not any(path.startswith("data/processed") for path in outputs)

    text = ledger("show", run_id, cwd=project.root).stdout
    assert re.search(r"^\s+loss\s+\S+\s+\[step 4, log\]$", text, re.MULTILINE)


def test_a_second_run_without_a_seed_gets_its_own_series(
    trained: ShownRun, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    project = own_copy(trained.repo)
    first = trained.shown
    second = _run(project, PY, "-u", "train.py", "--lr", "0.05", "--epochs", "4")  # the same command

    for shown in (first, second):
        printed = _printed_epochs(project, shown["run"]["summary"]["id"])
        assert shown["series"]["loss"]["values"] == [loss for _, loss, _ in printed]
    assert first["series"]["loss"]["values"] != second["series"]["loss"]["values"]


def test_metrics_from_the_log_can_be_turned_off_or_repatterned(project: TmpRepo) -> None:
    project.gen({"pyproject.toml": "[tool.ledger]\nlog_metrics = false\n"})
    off = _run(project, PY, "-u", "train.py", "--lr", "0.05", "--epochs", "2")
    assert off["run"]["metrics"] == []
    assert off["series"] == {}

    project.gen(
        {
            "pyproject.toml": "[tool.ledger]\nlog_metric_patterns = ['^Epoch (?P<step>\\d+)/\\d+ - loss: (?P<train_loss>\\S+)']\n"
        }
    )
    mine = _run(project, PY, "-u", "train.py", "--lr", "0.05", "--epochs", "2")
    printed = _printed_epochs(project, mine["run"]["summary"]["id"])
    assert {m["key"]: (m["value"], m["step"]) for m in mine["run"]["metrics"]} == {
        "train_loss": (printed[-1][1], 2)
    }


def test_diff_of_two_learning_rates_shows_only_lr_whatever_launched_them(project: TmpRepo) -> None:
    # The same script run plainly, then under torchrun: the launcher's flags are not params.
    a = _run(project, PY, "-u", "train.py", "--lr", "0.05", "--epochs", "2")["run"]["summary"]["id"]
    b = _run(
        project, TORCHRUN, "--standalone", "--nproc_per_node", "1", "train.py", "--lr", "0.1", "--epochs", "2"
    )
    b_id = b["run"]["summary"]["id"]
    assert {p["key"] for p in b["run"]["params"]} == {"lr", "epochs"}
    assert b["run"]["summary"]["status"] == "finished"

    diff = json.loads(ledger("diff", a, b_id, "--json", cwd=project.root).stdout)

    changed = {
        row["key"]: row["values"] for row in diff["params"] if len(set(map(json.dumps, row["values"]))) > 1
    }
    assert changed == {"lr": [0.05, 0.1]}
    assert {row["key"] for row in diff["params"]} == {"lr", "epochs"}
    assert sorted(diff["series"]) == ["loss", "val_acc"]
    text = ledger("diff", a, b_id, cwd=project.root).stdout
    assert "nproc_per_node" not in text
    assert "standalone" not in text


def test_an_api_key_on_the_command_line_is_never_stored(secret_run: ShownRun) -> None:
    project, shown = secret_run.repo, secret_run.shown
    run_id = shown["run"]["summary"]["id"]

    assert {p["key"]: p["value"] for p in shown["run"]["params"]} == {
        "lr": 0.05,
        "epochs": 2,
        "api_key": "***",
    }
    assert shown["run"]["argv"][-2:] == ["--api-key", "***"]
    # The script printed it too (`print(args)`): the log is redacted as well.
    outputs = [
        json.dumps(shown),
        ledger("show", run_id, cwd=project.root).stdout,
        ledger("log", run_id, cwd=project.root).stdout,
        json.dumps(runs_json(cwd=project.root)),
        ledger("list", cwd=project.root).stdout,
        ledger("export", cwd=project.root).stdout,
        ledger("export", "--format", "csv", cwd=project.root).stdout,
    ]
    for output in outputs:
        assert SECRET not in output
    assert "api_key='***'" in outputs[2]
    stored = [p for p in (project.root / ".git").rglob("*") if p.is_file()]
    assert any(p.name.endswith(".db") for p in stored)
    for path in stored:
        assert SECRET.encode() not in path.read_bytes(), path


@pytest.mark.postgres
def test_an_api_key_never_reaches_a_synced_postgresql_copy(
    secret_run: ShownRun, own_copy: Callable[[TmpRepo], TmpRepo], pg_url: str
) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    project = own_copy(secret_run.repo)  # the run given the key, after preprocess.py's
    ledger("sync", "--to", pg_url, "--no-progress", cwd=project.root)

    engine = create_engine(pg_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            params = {row[0]: row[1] for row in conn.execute(text("SELECT key, text FROM params"))}
            argvs = conn.execute(text("SELECT argv FROM runs")).scalars().all()
    finally:
        engine.dispose()
    assert params == {"lr": "0.05", "epochs": "2", "api_key": "***"}  # preprocess.py has none
    assert len(argvs) == 2
    assert not any(SECRET in argv for argv in argvs)
    exported = ledger("export", cwd=project.root, env={"LEDGER_URL": pg_url}).stdout
    assert '"api_key"' in exported
    assert SECRET not in exported


def test_a_commit_through_the_hooks_links_the_run_and_reproduce_plans_its_command(
    project: TmpRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    ledger("init", cwd=project.root)
    project.commit("hooks")
    run_id = _run(project, PY, "-u", "train.py", "--lr", "0.05", "--epochs", "2")["run"]["summary"]["id"]

    project.commit("retrained model")  # the rewritten model.bin and loss.png: the run's own outputs

    sha = project.git("rev-parse", "HEAD")
    assert show_json(run_id, cwd=project.root)["run"]["linked_commits"] == [sha]
    plan = ledger_process("reproduce", run_id, "--dry-run", cwd=project.root).stdout
    assert "train.py --lr 0.05 --epochs 2" in plan
