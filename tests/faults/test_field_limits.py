"""One length limit per field, enforced the same way on SQLite and PostgreSQL.

PostgreSQL refused what SQLite stored (a 300-character name, tag or metric key), so a
`ledger run --name` never started its training there, a metric key raised into the
user's script, and a sync from SQLite failed whole. Each test runs the real program,
on a SQLite ledger and on a PostgreSQL one, and expects the same outcome.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from ledger.core import limits
from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

PY = sys.executable
LONG = "n" * 300
TRAIN = "import pathlib; pathlib.Path('trained').write_text('yes')\n"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_repo: TmpRepo, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ledger a test's commands write: the repository's SQLite file, or a PostgreSQL
    database, both at the schema head already (a ledger's first open is not what these
    tests are about)."""
    tmp_repo.gen({"train.py": TRAIN})
    tmp_repo.commit("train")
    if request.param == "postgresql":
        monkeypatch.setenv("LEDGER_URL", request.getfixturevalue("pg_migrated_url"))
    else:
        request.getfixturevalue("migrated_ledger")(_sqlite_path(tmp_repo))
    return str(request.param)


def _sqlite_path(repo: TmpRepo) -> Path:
    return repo.root / ".git" / "ledger" / "ledger.db"


@pytest.fixture
def sqlite_ledger(tmp_repo: TmpRepo, migrated_ledger: Callable[[Path], Path]) -> Path:
    """The repository's SQLite ledger, at the schema head before the first run (a sync's
    source: its first open is not what the sync tests are about)."""
    return migrated_ledger(_sqlite_path(tmp_repo))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--name", LONG],
            "ledger: error: run name 'nnnnnnnnnnnnnnnnnnnnnnnn…nnnnnnnnnnnn' is 300 characters, over the 255 allowed",
        ),
        (
            ["--tag", "ok", "--tag", LONG],
            "ledger: error: tag 'nnnnnnnnnnnnnnnnnnnnnnnn…nnnnnnnnnnnn' is 300 characters, over the 255 allowed",
        ),
    ],
    ids=["name", "tag"],
)
def test_a_name_or_tag_no_ledger_can_store_is_refused_before_training(
    backend: str, tmp_repo: TmpRepo, flags: list[str], message: str
) -> None:
    proc = ledger_process("run", *flags, "--", PY, "train.py", check=False)

    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == message
    assert "Traceback" not in proc.stderr
    assert not (tmp_repo.root / "trained").exists()  # the training never started
    assert runs_json() == []


def test_a_name_and_tag_at_the_limit_are_kept_whole(backend: str, tmp_repo: TmpRepo) -> None:
    name, tag = "n" * limits.NAME, "t" * limits.TAG

    ledger_process("run", "--name", name, "--tag", tag, "--", PY, "train.py")

    assert (tmp_repo.root / "trained").read_text() == "yes"
    (run,) = runs_json()
    assert (run["name"], run["tags"]) == (name, [tag])
    assert show_json(run["id"])["run"]["capture_errors"] == []


def test_tagging_a_run_with_an_over_long_tag_is_refused(backend: str, tmp_repo: TmpRepo) -> None:
    ledger_process("run", "--", PY, "train.py")
    (run,) = runs_json()

    proc = ledger("tag", run["id"], "x" * 256, check=False)

    assert proc.returncode == 1
    assert (
        "tag 'xxxxxxxxxxxxxxxxxxxxxxxx…xxxxxxxxxxxx' is 256 characters, over the 255 allowed" in proc.stderr
    )
    assert runs_json()[0]["tags"] == []


SCRIPT = textwrap.dedent(
    """\
    import json, pathlib
    import ledger

    long_key = "loss/" + "k" * 295
    ledger.log_params({"p" * 300: 1})
    for step in range(3):
        ledger.log_metrics({long_key: 1.0 / (step + 1), "acc": step / 10}, step=step)
    pathlib.Path("metrics.json").write_text(json.dumps({"m" * 300: 0.5, "m" * 299 + "x": 0.7, "f1": 0.9}))
    print("trained")
    """
)


def test_over_long_keys_from_the_run_are_shortened_and_the_run_never_fails(
    backend: str, tmp_repo: TmpRepo
) -> None:
    tmp_repo.gen({"train.py": SCRIPT, "params.yaml": f"{'q' * 300}: 2\nlr: 0.1\n"})
    tmp_repo.commit("long keys")

    proc = ledger_process("run", "--", PY, "train.py")

    assert "trained" in proc.stdout
    detail = show_json(runs_json()[0]["id"])
    run = detail["run"]
    series_key = limits.fit("loss/" + "k" * 295, limits.KEY)
    metrics = run["summary"]["metrics"]
    assert metrics[series_key] == pytest.approx(1 / 3)
    assert metrics["acc"] == pytest.approx(0.2)
    assert metrics[limits.fit("m" * 300, limits.KEY)] == 0.5  # two keys that share 255 characters
    assert metrics[limits.fit("m" * 299 + "x", limits.KEY)] == 0.7  # stay two metrics
    assert metrics["f1"] == 0.9
    assert run["summary"]["params"][limits.fit("q" * 300, limits.KEY)] == 2
    assert run["summary"]["params"][limits.fit("p" * 300, limits.KEY)] == 1
    assert run["summary"]["params"]["lr"] == 0.1
    assert list(detail["series"]) == sorted(["acc", series_key])
    assert len(detail["series"][series_key]["steps"]) == 3
    assert all(len(key) <= limits.KEY for key in [*metrics, *run["summary"]["params"]])
    problems = [p for p in run["capture_errors"] if "characters, over the 255 allowed" in p]
    assert len(problems) == 5, run["capture_errors"]  # each shortened key named once
    assert any(p.startswith("metric key 'loss/kkkk") and "stored as" in p for p in problems)


def test_fit_is_deterministic_exact_and_keeps_distinct_keys_distinct() -> None:
    a, b = "k" * 300, "k" * 299 + "j"

    assert limits.fit(a, 255) == limits.fit(a, 255)
    assert len(limits.fit(a, 255)) == 255
    assert limits.fit(a, 255) != limits.fit(b, 255)
    assert limits.fit("k" * 255, 255) == "k" * 255  # at the limit: untouched


# Sync from a ledger written before the limits


def _old_sqlite_ledger(tmp_repo: TmpRepo, count: int) -> Path:
    """A SQLite ledger with `count` runs, two of which hold what PostgreSQL refuses."""
    path = _sqlite_path(tmp_repo)  # at the schema head already: the test's `sqlite_ledger`
    for i in range(count):
        ledger_process("run", "--name", f"run{i}", "--", PY, "train.py", env={"LEDGER_URL": ""})
    runs = sorted(r["id"] for r in runs_json())
    with sqlite3.connect(path) as conn:  # what SQLite let older versions store
        conn.execute("UPDATE runs SET name = ? WHERE id = ?", ("x" * 300, runs[1]))
        conn.execute(
            "INSERT INTO metrics (run_id, key, value, step, source) VALUES (?, ?, 1.0, NULL, 'metrics.json')",
            (runs[3], "m" * 300),
        )
    return path


@pytest.mark.postgres
@pytest.mark.usefixtures("sqlite_ledger")
def test_sync_copies_every_run_it_can_and_names_the_others(tmp_repo: TmpRepo, pg_migrated_url: str) -> None:
    tmp_repo.gen({"train.py": TRAIN})
    tmp_repo.commit("train")
    _old_sqlite_ledger(tmp_repo, 6)
    ids = sorted(r["id"] for r in runs_json())

    proc = ledger("sync", "--to", pg_migrated_url, "--no-progress", check=False)

    assert proc.returncode == 1
    assert "4 run(s) copied, 0 updated, 0 already there, 2 not copied" in proc.stdout
    assert proc.stderr.splitlines() == [
        f"ledger: run {ids[1]} not copied: runs.name 'xxxxxxxxxxxxxxxxxxxxxxxx…xxxxxxxxxxxx' is 300 characters, over the 255 allowed",
        f"ledger: run {ids[3]} not copied: metrics.key 'mmmmmmmmmmmmmmmmmmmmmmmm…mmmmmmmmmmmm' is 300 characters, over the 255 allowed",
    ]
    copied = json.loads(ledger("list", "--all", "--json", env={"LEDGER_URL": pg_migrated_url}).stdout)
    assert sorted(r["id"] for r in copied) == [ids[0], ids[2], ids[4], ids[5]]

    again = ledger("sync", "--to", pg_migrated_url, "--no-progress", check=False)

    assert "0 run(s) copied, 0 updated, 4 already there, 2 not copied" in again.stdout


@pytest.mark.postgres
@pytest.mark.usefixtures("sqlite_ledger")
def test_sync_of_runs_that_fit_still_exits_zero(tmp_repo: TmpRepo, pg_migrated_url: str) -> None:
    tmp_repo.gen({"train.py": TRAIN})
    tmp_repo.commit("train")
    ledger_process("run", "--name", "n" * 255, "--", PY, "train.py")

    proc = ledger("sync", "--to", pg_migrated_url, "--no-progress")

    assert "1 run(s) copied" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.postgres
@pytest.mark.usefixtures("sqlite_ledger")
def test_a_run_the_server_refuses_for_another_reason_is_named_and_the_rest_copied(
    tmp_repo: TmpRepo, pg_migrated_url: str
) -> None:
    tmp_repo.gen({"train.py": TRAIN})
    tmp_repo.commit("train")
    for i in range(3):
        ledger_process("run", "--name", f"run{i}", "--", PY, "train.py")
    ids = sorted(r["id"] for r in runs_json())
    with sqlite3.connect(_sqlite_path(tmp_repo)) as conn:
        conn.execute("UPDATE runs SET note = ? WHERE id = ?", ("a\x00b", ids[1]))  # SQLite takes NUL

    proc = ledger("sync", "--to", pg_migrated_url, "--no-progress", check=False)

    assert proc.returncode == 1
    assert "2 run(s) copied, 0 updated, 0 already there, 1 not copied" in proc.stdout
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"ledger: run {ids[1]} not copied: ledger database refused a write: ")
    assert "NUL" in line
