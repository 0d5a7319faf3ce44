"""`ledger sync` and the transfer engine: whole records copied by run ID, merged, idempotent.

Each test runs SQLite -> SQLite, and where it matters also through PostgreSQL
(a schema of its own per test; skipped with the reason when LEDGER_TEST_PG_URL is unset).
"""

from __future__ import annotations

import argparse
import io
import json
import math
from array import array
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select, update

from ledger.capture.log_tee import compress_log
from ledger.core.chunks import Points
from ledger.core.ids import RunId, new_run_id
from ledger.core.lockfile import Environment, Package
from ledger.core.records import DataItem, Metric, NewRun, OutputFile, Param, RunEnd
from ledger.store import archive, merge, transfer
from ledger.store import tables as models
from ledger.store.engine import Store, connect
from ledger.store.writes import (
    add_points,
    add_tags,
    create_run,
    finish_run,
    heartbeat,
    set_note,
)
from ledger.team.export import write_export
from ledger.team.sync import as_url, register, sync

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

T0 = 1_767_225_600.0  # 2026-01-01


def pts(steps: list[int], values: list[float]) -> Points:
    return Points(array("q", steps), array("q", [1000 * s for s in steps]), array("d", values))


def rich_run(store: Store, *, name: str = "full", started_at: float = T0, status: str = "finished") -> RunId:
    """A run touching every table: params of every type, NaN, series in chunks, data,
    outputs, log, environment, tags, note, a commit link."""
    run_id = new_run_id()
    env = Environment("3.11.7", "CPython", "Linux", (Package("pyyaml", "6.0.2", "index"),))
    create_run(
        store,
        NewRun(
            id=run_id,
            source="run",
            started_at=started_at,
            name=name,
            argv=["python", "train.py", "--lr", "0.1"],
            cwd="/work",
            repo="/work",
            host="gpu-1",
            user="ana",
            pid=123,
            seeds={"PYTHONHASHSEED": "7"},
            env_vars={"CUDA_VISIBLE_DEVICES": "0"},
            commit="a" * 40,
            branch="main",
            snapshot="b" * 40,
            dirty=True,
            snapshot_skipped=[(".env", "matches deny pattern '.env'")],
            environment=env,
            capture_errors=["params.yaml: odd"],
            tags=["baseline", "sweep"],
            params=[
                Param("lr", 0.1, "params.yaml"),
                Param("epochs", 10, "params.yaml"),
                Param("model", "resnet", "params.yaml"),
                Param("amp", True, "argv"),
                Param("opt", None, "params.yaml"),
                Param("layers", [64, 128], "params.yaml"),
            ],
            data=[
                DataItem("data/train", "dep", "md5", "c" * 32 + ".dir", 1024, 3, "dvc.lock", "train", True)
            ],
        ),
    )
    add_points(store, run_id, {"loss": pts([0, 1, 2], [0.9, math.nan, 0.5]), "acc": pts([0], [0.1])})
    add_points(store, run_id, {"loss": pts([3, 4], [0.25, math.inf])})
    if status != "running":
        finish_run(
            store,
            run_id,
            RunEnd(
                status=status,
                ended_at=started_at + 60,
                exit_code=0,
                peak_rss=2**20,
                metrics=[
                    Metric("f1", 0.8, None, "metrics.json"),
                    Metric("nanval", math.nan, None, "metrics.json"),
                ],
                outputs=[OutputFile("model.pt", "md5", "d" * 32, 2048)],
                log=compress_log(b"epoch 1\nepoch 2\n"),
                log_size=16,
            ),
        )
    set_note(store, run_id, f"note of {name}")
    with store.writing() as session:
        session.add(models.CommitLinkRow(run_id=run_id, commit="e" * 40, linked_at=started_at + 120))
    return run_id


def add_reproduction(store: Store, original: RunId) -> RunId:
    repro = rich_run(store, name="repro", started_at=T0 + 3600)
    with store.writing() as session:
        session.add(
            models.ReproductionRow(
                run_id=repro,
                original_id=original,
                matched=True,
                verdict=json.dumps([{"metric": "f1", "ok": True}]),
                created_at=T0 + 3700,
            )
        )
    return repro


def exported(store: Store) -> str:
    out = io.StringIO()
    write_export(store, out, fmt="json")
    return out.getvalue()


def count(store: Store, model: type[Any]) -> int:
    with store.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def sqlite_pair(tmp_path: Path, migrated_ledger: Callable[[Path], Path]) -> Iterator[tuple[Store, Store]]:
    """Two SQLite ledgers at the schema head (copies: a first open is not what sync is about)."""
    a = connect(f"sqlite:///{migrated_ledger(tmp_path / 'a.db')}")
    b = connect(f"sqlite:///{migrated_ledger(tmp_path / 'b.db')}")
    yield a, b
    a.close()
    b.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def other(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_ledger: Callable[[Path], Path]
) -> Iterator[Store]:
    """The far side of a sync: another SQLite file (a copy of one migrated once: a first
    open is not what sync is about), or a PostgreSQL schema."""
    url = (
        f"sqlite:///{migrated_ledger(tmp_path / 'other.db')}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    opened = connect(url, upgrade=True)
    yield opened
    opened.close()


def copy_all(source: Store, target: Store) -> transfer.CopyReport:
    return transfer.copy_runs(source, target, transfer.run_ids(source))


# the engine


def test_every_table_of_a_run_record_is_handled_by_sync() -> None:
    tables = set(models.Base.metadata.tables)

    assert tables == transfer.HANDLED_TABLES


def test_copy_carries_every_part_of_a_record(sqlite_pair: tuple[Store, Store], other: Store) -> None:
    local, _ = sqlite_pair
    original = rich_run(local)
    add_reproduction(local, original)
    rich_run(local, name="still running", started_at=T0 + 7200, status="running")

    report = copy_all(local, other)

    assert (report.copied, report.updated, report.unchanged) == (3, 0, 0)
    assert exported(other) == exported(local)
    for model in (
        models.MetricChunkRow,
        models.ReproductionRow,
        models.EnvironmentRow,
        models.CommitLinkRow,
        models.LogRow,
    ):
        assert count(other, model) == count(local, model), model.__name__


def test_sqlite_to_postgresql_to_sqlite_exports_identical_json(tmp_path: Path, pg_url: str) -> None:
    first = connect(f"sqlite:///{tmp_path / 'first.db'}")
    original = rich_run(first)
    add_reproduction(first, original)
    rich_run(first, name="crashed one", started_at=T0 + 60, status="crashed")
    first.close()
    second_url = f"sqlite:///{tmp_path / 'second.db'}"

    to_pg = sync(f"sqlite:///{tmp_path / 'first.db'}", pg_url)
    back = sync(pg_url, second_url)

    assert (to_pg.copied, back.copied) == (3, 3)
    texts = []
    for url in (f"sqlite:///{tmp_path / 'first.db'}", pg_url, second_url):
        store = connect(url)
        texts.append(exported(store))
        store.close()
    assert texts[0] == texts[1] == texts[2]
    assert len(json.loads(texts[0])) == 3


def test_a_second_sync_copies_nothing(sqlite_pair: tuple[Store, Store], other: Store) -> None:
    local, _ = sqlite_pair
    for i in range(3):
        rich_run(local, name=f"run {i}", started_at=T0 + i)
    copy_all(local, other)
    chunks_before = count(other, models.MetricChunkRow)

    again = copy_all(local, other)

    assert (again.copied, again.updated, again.unchanged) == (0, 0, 3)
    assert count(other, models.MetricChunkRow) == chunks_before


def test_tags_are_united_both_ways(sqlite_pair: tuple[Store, Store], other: Store) -> None:
    local, _ = sqlite_pair
    run_id = rich_run(local)
    copy_all(local, other)
    add_tags(local, [run_id], ["local-only"])
    add_tags(other, [run_id], ["team-only"])

    copy_all(local, other)
    copy_all(other, local)

    expected = ["baseline", "local-only", "sweep", "team-only"]
    for store in (local, other):
        with store.reading() as session:
            tags = session.scalars(
                select(models.TagRow.tag).where(models.TagRow.run_id == run_id).order_by(models.TagRow.tag)
            )
            assert list(tags) == expected


def test_notes_edited_on_both_sides_are_joined_once(sqlite_pair: tuple[Store, Store], other: Store) -> None:
    local, _ = sqlite_pair
    run_id = rich_run(local)
    copy_all(local, other)
    set_note(local, run_id, "local thought", append=True)
    set_note(other, run_id, "team thought", append=True)

    copy_all(local, other)
    copy_all(other, local)
    copy_all(local, other)

    with local.reading() as session:
        local_note = session.scalar(select(models.RunRow.note).where(models.RunRow.id == run_id))
    with other.reading() as session:
        other_note = session.scalar(select(models.RunRow.note).where(models.RunRow.id == run_id))
    assert local_note == other_note
    assert local_note is not None
    for part in ("note of full", "local thought", "team thought"):
        assert local_note.count(part) == 1


@pytest.mark.parametrize(
    ("target", "source", "merged"),
    [
        (None, "a", "a"),
        ("a", None, "a"),
        ("a", "a", "a"),
        ("a", "a\nb", "a\nb"),
        ("a\nb", "a", "a\nb"),
        ("a", "b", "a\nb"),
    ],
    ids=["target-empty", "source-empty", "same", "source-extends", "target-extends", "both-differ"],
)
def test_merge_notes(target: str | None, source: str | None, merged: str) -> None:
    assert merge.merge_notes(target, source) == merged
    assert merge.merge_notes(merged, source) == merged


def test_a_run_copied_while_running_is_completed_by_the_next_sync(
    sqlite_pair: tuple[Store, Store], other: Store
) -> None:
    local, _ = sqlite_pair
    run_id = rich_run(local, status="running")
    copy_all(local, other)
    heartbeat(local, run_id)
    add_points(local, run_id, {"loss": pts([5, 6], [0.2, 0.1])})
    finish_run(
        local, run_id, RunEnd(status="finished", ended_at=T0 + 600, metrics=[Metric("f1", 0.9, None, "m")])
    )

    report = copy_all(local, other)

    assert report.updated == 1
    assert exported(other) == exported(local)


def test_a_run_running_on_both_sides_is_left_alone_when_the_target_is_fresher(
    sqlite_pair: tuple[Store, Store],
) -> None:
    local, remote = sqlite_pair
    run_id = rich_run(local, status="running")
    copy_all(local, remote)
    heartbeat(remote, run_id)

    assert copy_all(local, remote).unchanged == 1


def test_a_run_the_target_holds_as_crashed_is_sealed_against_a_later_end(
    sqlite_pair: tuple[Store, Store],
) -> None:
    """A crash is an end: a "real end" arriving later is exactly how a crashed run was
    once overwritten whole, so it is refused and the crash stays."""
    local, remote = sqlite_pair
    run_id = rich_run(local, status="running")
    copy_all(local, remote)
    with remote.writing() as session:
        session.execute(update(models.RunRow).values(status="crashed", ended_at=T0 + 1))
    finish_run(local, run_id, RunEnd(status="finished", ended_at=T0 + 600))

    report = copy_all(local, remote)

    assert [i for i, _ in report.refused] == [run_id]
    assert (report.copied, report.updated, report.unchanged) == (0, 0, 0)
    with remote.reading() as session:
        assert session.scalar(select(models.RunRow.status).where(models.RunRow.id == run_id)) == "crashed"


def test_finished_runs_are_never_overwritten_by_the_other_side(sqlite_pair: tuple[Store, Store]) -> None:
    local, remote = sqlite_pair
    run_id = rich_run(local)
    copy_all(local, remote)
    with local.writing() as session:
        session.execute(update(models.RunRow).values(exit_code=99))

    report = copy_all(local, remote)

    assert [i for i, _ in report.refused] == [run_id]
    assert "differs" in report.refused[0][1]
    with remote.reading() as session:
        assert session.scalar(select(models.RunRow.exit_code).where(models.RunRow.id == run_id)) == 0


def test_reproductions_of_runs_not_synced_are_skipped_and_counted(sqlite_pair: tuple[Store, Store]) -> None:
    local, remote = sqlite_pair
    original = rich_run(local)
    repro = add_reproduction(local, original)

    report = transfer.copy_runs(local, remote, [repro])

    assert (report.copied, report.reproductions_skipped) == (1, 1)
    assert count(remote, models.ReproductionRow) == 0


def test_sync_with_a_filter_copies_only_matching_runs(tmp_path: Path) -> None:
    source = connect(f"sqlite:///{tmp_path / 'a.db'}")
    keep = rich_run(source, name="keep")
    drop = rich_run(source, name="drop", started_at=T0 + 1)
    add_tags(source, [keep], ["paper"])
    source.close()

    report = sync(f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}", where="tag:paper")

    assert report.copied_ids == [keep]
    assert drop not in report.copied_ids


def test_sync_refuses_to_copy_a_ledger_into_itself(tmp_path: Path) -> None:
    from ledger.core.errors import LedgerError

    url = f"sqlite:///{tmp_path / 'a.db'}"
    with pytest.raises(LedgerError, match="same ledger"):
        sync(url, url)


def test_delete_runs_removes_the_whole_record(sqlite_pair: tuple[Store, Store]) -> None:
    local, _ = sqlite_pair
    original = rich_run(local)
    add_reproduction(local, original)

    archive.delete_runs(local, transfer.run_ids(local))

    for model in (
        models.RunRow,
        models.MetricChunkRow,
        models.SeriesRow,
        models.TagRow,
        models.ReproductionRow,
        models.LogRow,
    ):
        assert count(local, model) == 0, model.__name__


def test_as_url_turns_a_path_into_a_sqlite_url(tmp_path: Path) -> None:
    assert as_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    assert as_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


# the command


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="ledger")
    register(parser.add_subparsers(dest="command_name", required=True))
    args = parser.parse_args(["sync", *argv])
    return int(args.func(args))


def test_cmd_sync_to_and_from_a_path(
    tmp_repo: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from ledger.store.workspace import locate

    local = connect(locate().url)
    rich_run(local)
    local.close()
    far = tmp_path / "far.db"

    assert run_cli("--to", str(far), "--no-progress") == 0
    assert "synced 1 run(s) copied, 0 updated, 0 already there to" in capsys.readouterr().out
    assert run_cli("--from", str(far)) == 0
    assert "synced 0 run(s) copied, 0 updated, 1 already there from" in capsys.readouterr().out


def test_cmd_sync_without_a_direction_reports_an_empty_outbox(
    tmp_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli() == 0
    assert capsys.readouterr().out == "nothing queued in the local outbox\n"
