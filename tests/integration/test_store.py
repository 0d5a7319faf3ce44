"""The ledger database end to end: writes (recorder), reads (queries), schema (store, alembic).

Every test that takes the `store` fixture runs twice: against a real SQLite file and
against a PostgreSQL schema of its own (skipped when LEDGER_TEST_PG_URL is unset).
"""

from __future__ import annotations

import math
import os
import sqlite3
from array import array
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text

from ledger.capture.log_tee import compress_log
from ledger.core.chunks import Points
from ledger.core.errors import (
    AmbiguousRunIdError,
    RunNotFoundError,
    StoreCorruptError,
    StoreError,
    StoreOutdatedError,
)
from ledger.core.ids import MIN_PREFIX, RunId, new_run_id
from ledger.core.lockfile import Environment, Package
from ledger.core.records import DataItem, Metric, NewRun, OutputFile, Param, RunDetail, RunEnd
from ledger.core.summary import RunSummary
from ledger.core.torch_runtime import TorchRuntime
from ledger.read.queries import get_environment, get_run, get_series, list_runs, resolve_run_id
from ledger.store.engine import MIGRATIONS, Store, connect
from ledger.store.policies import current_role
from ledger.store.schema import SCHEMA_HEAD, SCHEMA_REVISIONS
from ledger.store.writes import (
    add_points,
    add_tags,
    create_run,
    finish_run,
    remove_tags,
    set_note,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
DAY = 86400.0


# factories


def make_id(prefix: str) -> RunId:
    """A hand-made 32-digit ID starting with `prefix` (so tests control shared prefixes)."""
    return RunId(prefix.ljust(32, "0"))


def new_run(run_id: str | None = None, **fields: Any) -> NewRun:
    """A run as `ledger run` starts it; only the fields a test cares about need giving."""
    fields.setdefault("source", "run")
    fields.setdefault("started_at", T0)
    return NewRun(id=RunId(run_id or new_run_id()), **fields)


def run_end(**fields: Any) -> RunEnd:
    fields.setdefault("status", "finished")
    fields.setdefault("ended_at", T0 + 60)
    return RunEnd(**fields)


def pts(steps: list[int], values: list[float]) -> Points:
    return Points(array("q", steps), array("q", [1000 * s for s in steps]), array("d", values))


def param(key: str, value: Any, source: str = "params.yaml") -> Param:
    return Param(key=key, value=value, source=source)


def metric(key: str, value: float, step: int | None = None, source: str = "metrics.json") -> Metric:
    return Metric(key=key, value=value, step=step, source=source)


GPU = TorchRuntime(
    "2.5.1+cu121", "12.1", cuda_available=True, device_count=1, cuda_used=True, devices=("T4",)
)


def started(store: Store, **fields: Any) -> RunId:
    """Create a run and return its ID."""
    run = new_run(**fields)
    create_run(store, run)
    return run.id


def names(runs: list[RunSummary]) -> list[str | None]:
    return [r.name for r in runs]


def final(store: Store, run_id: RunId, key: str) -> Metric:
    return next(m for m in get_run(store, run_id).metrics if m.key == key)


def series(store: Store, run_id: RunId, key: str) -> list[tuple[int, float]]:
    points = get_series(store, run_id, key)
    return list(zip(points.steps, points.values, strict=True))


def db_path(store: Store) -> str:
    return store.url.removeprefix("sqlite:///")


# four runs to filter and sort


def seed_runs(store: Store) -> None:
    """alpha, beta, gamma and 'delta run', one day apart, differing in every filterable way."""
    create_run(store, new_run(
        make_id("0190aaaa"), name="alpha", started_at=T0, host="gpu-1", user="ana", branch="main",
        commit="aaaa1111".ljust(40, "0"), tags=["baseline"],
        params=[param("lr", 0.1), param("epochs", 10), param("model", "resnet"), param("use_amp", True),
                param("opt", None)],
    ))  # fmt: skip
    finish_run(store, make_id("0190aaaa"), run_end(
        ended_at=T0 + 90, exit_code=0, metrics=[metric("acc", 0.9), metric("loss", 0.3)],
    ))  # fmt: skip
    create_run(store, new_run(
        make_id("0190bbbb"), name="beta", started_at=T0 + DAY, host="gpu-2", user="bob", branch="feature/x",
        commit="bbbb2222".ljust(40, "0"), tags=["baseline", "best"],
        params=[param("lr", 0.01), param("epochs", 20), param("model", "vit"), param("use_amp", False)],
    ))  # fmt: skip
    finish_run(store, make_id("0190bbbb"), run_end(
        ended_at=T0 + DAY + 600, exit_code=0, metrics=[metric("acc", 0.95), metric("loss", math.nan)],
    ))  # fmt: skip
    create_run(store, new_run(
        make_id("0190cccc"), name="gamma", started_at=T0 + 2 * DAY, host="gpu-1", user="ana", branch="main",
        commit="aaaa1111".ljust(40, "0"), params=[param("lr", "auto"), param("epochs", 5)],
    ))  # fmt: skip
    finish_run(store, make_id("0190cccc"), run_end(
        status="failed", ended_at=T0 + 2 * DAY + 5, exit_code=1, metrics=[metric("loss", 1.2)],
    ))  # fmt: skip
    create_run(store, new_run(
        make_id("0190dddd"), name="delta run", source="api", started_at=T0 + 3 * DAY, tags=["wip"],
    ))  # fmt: skip


@pytest.fixture
def seeded(store: Store) -> Store:
    seed_runs(store)
    return store


# create_run / finish_run / get_run


def test_get_run_round_trips_every_field(store: Store) -> None:
    env = Environment(
        python_version="3.11.7",
        implementation="CPython",
        platform="Linux-6.1-x86_64",
        packages=(Package("numpy", "1.26.4", "index"),),
    )
    dep = DataItem("data/train.csv", "dep", "md5", "a" * 32, 1234, None, "dvc.lock", "train", True)
    out = DataItem("models/model.pt", "out", "md5", "b" * 32 + ".dir", 99, 3, "dvc.lock", "train", None)
    run_id = make_id("0190abcd")
    create_run(store, NewRun(
        id=run_id, source="run", started_at=T0, name="baseline", argv=("python", "train.py", "--lr", "0.1"),
        cwd="/work/repo/src", repo="/work/repo", host="gpu-1", user="ana", pid=4242, pid_start="12345",
        seeds={"python": 1, "numpy": 2}, env_vars={"CUDA_VISIBLE_DEVICES": "0"}, commit="c" * 40,
        branch="main", snapshot="d" * 40, dirty=True, snapshot_skipped=(("big.bin", "too big"),),
        environment=env, capture_errors=("params.yaml: not valid yaml",), tags=("b", "a"),
        params=(param("lr", 0.1, "argv"), param("model.depth", 3)), data=(dep,),
    ))  # fmt: skip
    add_points(store, run_id, {"loss": pts([0, 1, 2], [0.9, 0.5, 0.25])})
    finish_run(store, run_id, RunEnd(
        status="finished", ended_at=T0 + 125.5, exit_code=0, peak_rss=2**31,
        metrics=(metric("acc", 0.93),), outputs=(OutputFile("ckpt.pt", "sha256", "e" * 64, 2048),),
        data=(out,), capture_errors=("metrics.json: missing",), log=compress_log(b"hello\n"),
        log_size=6, log_truncated=True, run_folders=("lightning_logs/version_0",), torch=GPU,
    ))  # fmt: skip
    set_note(store, run_id, "first try")

    detail = get_run(store, run_id)

    assert detail.owner == current_role(store)  # the server's role; None on SQLite, one person's
    assert detail.digest is not None
    assert len(detail.digest) == 64
    annotated = sorted((a.kind, a.value, a.author) for a in detail.annotations)
    by = detail.owner
    assert annotated == (
        [] if store.is_sqlite else [("note", "first try", by), ("tag", "a", by), ("tag", "b", by)]
    )
    assert replace(detail, owner=None, digest=None, annotations=()) == RunDetail(
        summary=RunSummary(
            id=run_id, short_id=run_id[:MIN_PREFIX], name="baseline", status="finished", source="run",
            started_at=T0, ended_at=T0 + 125.5, exit_code=0, commit="c" * 40, branch="main", dirty=True,
            tags=("a", "b"), params={"lr": 0.1, "model.depth": 3}, metrics={"acc": 0.93, "loss": 0.25},
            run_folders=("lightning_logs/version_0",),
        ),
        argv=("python", "train.py", "--lr", "0.1"), cwd="/work/repo/src", repo="/work/repo", host="gpu-1",
        user="ana", pid=4242, peak_rss=2**31, seeds={"python": 1, "numpy": 2},
        env_vars={"CUDA_VISIBLE_DEVICES": "0"}, snapshot="d" * 40, snapshot_skipped=(("big.bin", "too big"),),
        environment_digest=env.digest,
        capture_errors=("params.yaml: not valid yaml", "metrics.json: missing"), note="first try",
        params=(param("lr", 0.1, "argv"), param("model.depth", 3)),
        metrics=(metric("acc", 0.93), metric("loss", 0.25, step=2, source="api")), series_keys=("loss",),
        data=(dep, out), outputs=(OutputFile("ckpt.pt", "sha256", "e" * 64, 2048),), log_size=6,
        log_truncated=True, run_folders=("lightning_logs/version_0",), torch=GPU,
    )  # fmt: skip


def test_get_run_of_a_bare_running_run_has_empty_parts(store: Store) -> None:
    run_id = started(store)

    detail = get_run(store, run_id)

    assert detail.owner == current_role(store)
    assert detail.digest is None  # sealed when it ends
    assert replace(detail, owner=None) == RunDetail(
        summary=RunSummary(
            id=run_id, short_id=run_id[:MIN_PREFIX], name=None, status="running", source="run",
            started_at=T0, ended_at=None, exit_code=None, commit=None, branch=None, dirty=None, tags=(),
        ),
        argv=(), cwd=None, repo=None, host=None, user=None, pid=None, peak_rss=None, seeds={}, env_vars={},
        snapshot=None, snapshot_skipped=(), environment_digest=None, capture_errors=(), note=None, params=(),
        metrics=(), series_keys=(), data=(), outputs=(), log_size=None, log_truncated=False,
    )  # fmt: skip


def test_get_environment_returns_the_stored_lockfile(store: Store) -> None:
    env = Environment("3.11.7", "CPython", "Linux", (Package("pyyaml", "6.0.2", "index"),))
    started(store, environment=env)

    assert get_environment(store, env.digest) == env


def test_runs_sharing_an_environment_store_it_once(store: Store) -> None:
    env = Environment("3.11.7", "CPython", "Linux", (Package("pyyaml", "6.0.2", "index"),))
    first, second = started(store, environment=env), started(store, environment=env)

    assert get_run(store, first).environment_digest == get_run(store, second).environment_digest == env.digest
    with store.reading() as session:
        assert session.execute(text("SELECT count(*) FROM environments")).scalar() == 1


@pytest.mark.parametrize(
    "value",
    [True, 3, 2**62 + 1, 0.1, None, "3", [1, "a", None], {"b": {"c": 1}}, math.inf],
    ids=["bool", "int", "big-int", "float", "null", "numeric-string", "list", "dict", "inf"],
)
def test_get_run_returns_params_with_their_exact_type(store: Store, value: Any) -> None:
    run_id = started(store, params=[param("p", value)])

    (stored,) = get_run(store, run_id).params

    assert stored.value == value
    assert type(stored.value) is type(value)


def test_get_run_unknown_id_raises_run_not_found(store: Store) -> None:
    with pytest.raises(RunNotFoundError):
        get_run(store, make_id("0190ffff"))


def test_add_points_to_an_unknown_run_raises_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="ledger database refused a write"):
        add_points(store, make_id("0190ffff"), {"loss": pts([0], [1.0])})


# series and final metrics


def test_get_series_joins_several_flushes_in_step_order(store: Store) -> None:
    run_id = started(store)
    for first in (0, 3, 6):
        add_points(store, run_id, {"loss": pts([first, first + 1, first + 2], [first, first + 1, first + 2])})

    assert series(store, run_id, "loss") == [(s, float(s)) for s in range(9)]


def test_get_series_merges_two_interleaved_writers(store: Store) -> None:
    run_id = started(store)
    add_points(store, run_id, {"loss": pts([0, 2, 4], [0.0, 2.0, 4.0])}, source="rank0")
    add_points(store, run_id, {"loss": pts([1, 3, 5], [1.0, 3.0, 5.0])}, source="rank1")
    add_points(store, run_id, {"loss": pts([6, 8], [6.0, 8.0])}, source="rank0")
    add_points(store, run_id, {"loss": pts([7, 9], [7.0, 9.0])}, source="rank1")

    assert series(store, run_id, "loss") == [(s, float(s)) for s in range(10)]


def test_get_series_keeps_the_last_written_value_of_a_relogged_step(store: Store) -> None:
    run_id = started(store)
    add_points(store, run_id, {"loss": pts([0, 1, 2], [0.0, 1.0, 2.0])})
    add_points(store, run_id, {"loss": pts([1], [10.0])})

    assert series(store, run_id, "loss") == [(0, 0.0), (1, 10.0), (2, 2.0)]


def test_get_series_keeps_series_of_one_flush_apart(store: Store) -> None:
    run_id = started(store)
    add_points(store, run_id, {"loss": pts([0, 1], [1.0, 0.5]), "acc": pts([0, 1], [0.1, 0.2])})

    assert (series(store, run_id, "loss"), series(store, run_id, "acc")) == (
        [(0, 1.0), (1, 0.5)],
        [(0, 0.1), (1, 0.2)],
    )


def test_get_series_keeps_runs_apart(store: Store) -> None:
    first, second = started(store), started(store)
    add_points(store, first, {"loss": pts([0], [1.0])})
    add_points(store, second, {"loss": pts([0], [2.0])})

    assert series(store, first, "loss") == [(0, 1.0)]


def test_get_series_of_an_unknown_key_is_empty(store: Store) -> None:
    run_id = started(store)
    add_points(store, run_id, {"loss": pts([0], [1.0])})

    assert len(get_series(store, run_id, "acc")) == 0


def test_add_points_skips_empty_batches(store: Store) -> None:
    run_id = started(store)

    add_points(store, run_id, {"loss": pts([], [])})

    assert get_run(store, run_id).series_keys == ()


@pytest.mark.parametrize(
    ("batches", "value", "step"),
    [
        ([([0, 1, 2, 3, 4], [0.0, 1.0, 2.0, 3.0, 4.0]), ([2], [99.0])], 4.0, 4),
        ([([0, 1, 2], [0.0, 1.0, 2.0]), ([5], [5.0])], 5.0, 5),
        ([([0, 1, 2], [0.0, 1.0, 2.0]), ([2], [22.0])], 22.0, 2),
        ([([3, 1], [3.0, 1.0])], 3.0, 3),
        ([([2, 2], [1.0, 2.0])], 2.0, 2),
        ([([5], [5.0]), ([0, 1], [0.0, 1.0]), ([6], [6.0])], 6.0, 6),
    ],
    ids=[
        "late-older-step-ignored",
        "newer-step-wins",
        "same-step-relogged-later-wins",
        "out-of-order-batch",
        "duplicate-in-batch-last-wins",
        "interleaved-writers",
    ],
)
def test_final_metric_follows_the_newest_step(
    store: Store, batches: list[tuple[list[int], list[float]]], value: float, step: int
) -> None:
    run_id = started(store)
    for steps, values in batches:
        add_points(store, run_id, {"loss": pts(steps, values)})

    latest = final(store, run_id, "loss")

    assert (latest.value, latest.step) == (value, step)


def test_final_metric_matches_the_last_point_of_its_series(store: Store) -> None:
    run_id = started(store)
    add_points(store, run_id, {"loss": pts([0, 1, 2], [3.0, 2.0, 1.0])})
    add_points(store, run_id, {"loss": pts([2, 1], [7.0, 8.0])})

    latest = final(store, run_id, "loss")

    assert (latest.step, latest.value) == series(store, run_id, "loss")[-1]


def test_metric_from_a_file_replaces_the_logged_final_value(store: Store) -> None:
    run_id = started(store)
    add_points(store, run_id, {"acc": pts([0, 1], [0.5, 0.6])})

    finish_run(store, run_id, run_end(metrics=[metric("acc", 0.7)]))

    assert final(store, run_id, "acc") == metric("acc", 0.7)


@pytest.mark.parametrize("value", [math.inf, -math.inf, 1e308, -5e-324], ids=["inf", "-inf", "huge", "tiny"])
def test_final_metric_keeps_extreme_floats(store: Store, value: float) -> None:
    run_id = started(store)
    add_points(store, run_id, {"x": pts([0], [value])})

    assert final(store, run_id, "x").value == value


def test_nan_logged_as_final_point_reads_back_as_nan(store: Store) -> None:
    run_id = started(store)
    add_points(store, run_id, {"loss": pts([0, 1], [0.5, math.nan])})

    assert math.isnan(final(store, run_id, "loss").value)


def test_nan_in_a_series_reads_back_as_nan(store: Store) -> None:
    run_id = started(store)
    add_points(store, run_id, {"loss": pts([0, 1], [math.nan, 0.5])})

    assert math.isnan(get_series(store, run_id, "loss").values[0])


def test_nan_metric_from_a_file_reads_back_as_nan(store: Store) -> None:
    run_id = started(store)
    finish_run(store, run_id, run_end(metrics=[metric("loss", math.nan)]))

    assert math.isnan(get_run(store, run_id).summary.metrics["loss"])


def test_nan_metric_reads_back_as_nan_in_list_runs(store: Store) -> None:
    run_id = started(store)
    finish_run(store, run_id, run_end(metrics=[metric("loss", math.nan)]))

    (run,) = list_runs(store, metrics=["loss"])

    assert math.isnan(run.metrics["loss"])


def test_nan_final_is_replaced_by_a_newer_step(store: Store) -> None:
    run_id = started(store)
    add_points(store, run_id, {"loss": pts([0], [math.nan])})
    add_points(store, run_id, {"loss": pts([1], [0.5])})

    assert final(store, run_id, "loss").value == 0.5


# tags and notes


def test_tags_read_back_sorted_and_deduplicated(store: Store) -> None:
    run_id = started(store, tags=["b", "a", "b"])

    assert get_run(store, run_id).summary.tags == ("a", "b")


def test_add_tags_twice_is_harmless(store: Store) -> None:
    run_id = started(store)
    add_tags(store, [run_id], ["best"])
    add_tags(store, [run_id], ["best", "best"])

    assert get_run(store, run_id).summary.tags == ("best",)


def test_add_tags_tags_every_run_given(store: Store) -> None:
    first, second = started(store), started(store)
    add_tags(store, [first, second], ["sweep"])

    assert [get_run(store, r).summary.tags for r in (first, second)] == [("sweep",), ("sweep",)]


def test_remove_tags_removes_only_the_named_tags(store: Store) -> None:
    run_id = started(store, tags=["a", "b", "c"])

    remove_tags(store, [run_id], ["b", "absent"])

    assert get_run(store, run_id).summary.tags == ("a", "c")


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        ([("first", False)], "first"),
        ([("first", False), ("second", False)], "second"),
        ([("first", False), ("second", True)], "first\nsecond"),
        ([("only", True)], "only"),
        ([("first", False), (None, False)], None),
    ],
    ids=["set", "replace", "append", "append-to-nothing", "clear"],
)
def test_set_note(store: Store, notes: list[tuple[str | None, bool]], expected: str | None) -> None:
    run_id = started(store)
    for note, append in notes:
        set_note(store, run_id, note, append=append)

    assert get_run(store, run_id).note == expected


# resolve_run_id


def test_resolve_run_id_full_id(seeded: Store) -> None:
    assert resolve_run_id(seeded, make_id("0190bbbb")) == make_id("0190bbbb")


@pytest.mark.parametrize(
    "text",
    ["0190bbbb", "0190bbbb000", "0190BBBB", "0190bbbb-0000-0000", " 0190bb \n"],
    ids=["prefix", "longer-prefix", "uppercase", "dashes", "surrounding-space"],
)
def test_resolve_run_id_prefix_as_pasted(seeded: Store, text: str) -> None:
    assert resolve_run_id(seeded, text) == make_id("0190bbbb")


def test_resolve_run_id_full_id_with_dashes_and_uppercase(seeded: Store) -> None:
    full = make_id("0190bbbb").upper()
    pasted = f"{full[:8]}-{full[8:12]}-{full[12:16]}-{full[16:20]}-{full[20:]}"

    assert resolve_run_id(seeded, pasted) == make_id("0190bbbb")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("gamma", "0190cccc"), ("delta run", "0190dddd"), ("  alpha  ", "0190aaaa")],
    ids=["name", "name-with-space", "surrounding-space"],
)
def test_resolve_run_id_name(seeded: Store, text: str, expected: str) -> None:
    assert resolve_run_id(seeded, text) == make_id(expected)


def test_resolve_run_id_hex_looking_name_when_no_id_matches(store: Store) -> None:
    run_id = started(store, name="cafe")

    assert resolve_run_id(store, "cafe") == run_id


@pytest.mark.parametrize("text", ["latest", "LATEST"], ids=["lower", "upper"])
def test_resolve_run_id_latest_is_the_newest_start(seeded: Store, text: str) -> None:
    assert resolve_run_id(seeded, text) == make_id("0190dddd")


@pytest.mark.parametrize(
    "text",
    ["0190eeee", "nobody", "", "0190bbbb1"],
    ids=["unknown-prefix", "unknown-name", "empty", "prefix-longer-than-any-match"],
)
def test_resolve_run_id_unknown_raises_run_not_found(seeded: Store, text: str) -> None:
    with pytest.raises(RunNotFoundError, match="no run matches"):
        resolve_run_id(seeded, text)


def test_resolve_run_id_in_an_empty_ledger_latest_raises_run_not_found(store: Store) -> None:
    with pytest.raises(RunNotFoundError):
        resolve_run_id(store, "latest")


def test_resolve_run_id_ambiguous_prefix_lists_the_candidates(seeded: Store) -> None:
    with pytest.raises(AmbiguousRunIdError) as info:
        resolve_run_id(seeded, "0190")

    message = str(info.value)
    for prefix, name in [
        ("0190aaaa", "alpha"),
        ("0190bbbb", "beta"),
        ("0190cccc", "gamma"),
        ("0190dddd", "delta run"),
    ]:
        assert f"{make_id(prefix)[:12]} {name}" in message
    assert "give more characters of the ID" in message


def test_resolve_run_id_ambiguous_name_lists_the_candidates(store: Store) -> None:
    first = started(store, name="sweep")
    second = started(store, name="sweep")

    with pytest.raises(AmbiguousRunIdError) as info:
        resolve_run_id(store, "sweep")

    assert f"{first[:12]} sweep" in str(info.value)
    assert f"{second[:12]} sweep" in str(info.value)


def test_resolve_run_id_ambiguous_lists_at_most_ten_then_an_ellipsis(store: Store) -> None:
    for n in range(12):
        started(store, run_id=make_id(f"0190{n:02x}"))

    with pytest.raises(AmbiguousRunIdError) as info:
        resolve_run_id(store, "0190")

    message = str(info.value)
    assert message.count("; ") == 10 - 1
    assert message.endswith(" ... (give more characters of the ID)")


# short IDs


@pytest.mark.parametrize(
    "ids",
    [
        [
            "0190abcdef0123456789abcdef012340",
            "0190abcdef0123456789abcdef012341",
            "0190abcdef0123456789abcdef0123f0",
        ],
        ["0190abcdef" + "0" * 22, "0190abcdef" + "1" * 22, "0190abcd0" + "0" * 23],
        ["0" * 32, "f" * 32],
    ],
    ids=["share-30-digits", "share-8-and-10-digits", "nothing-shared"],
)
def test_short_ids_are_unique_prefixes_that_resolve(store: Store, ids: list[str]) -> None:
    for run_id in ids:
        started(store, run_id=run_id)

    shorts = {r.id: r.short_id for r in list_runs(store, limit=None)}

    for run_id, short in shorts.items():
        assert len(short) >= MIN_PREFIX
        assert run_id.startswith(short)
        assert [other for other in ids if other.startswith(short)] == [run_id]
        assert resolve_run_id(store, short) == run_id


def test_short_ids_are_the_shortest_unique_prefix(store: Store) -> None:
    a, b, c = "0190abcdef" + "0" * 22, "0190abcdef" + "1" * 22, "0190abcd0" + "0" * 23
    for run_id in (a, b, c):
        started(store, run_id=run_id)

    shorts = {r.id: r.short_id for r in list_runs(store, limit=None)}

    assert shorts == {a: a[:11], b: b[:11], c: c[:9]}


def test_short_ids_account_for_runs_outside_the_page(store: Store) -> None:
    started(store, run_id="0190abcdef012345" + "0" * 16, started_at=T0)
    newest = started(store, run_id="0190abcdef012346" + "0" * 16, started_at=T0 + 1)

    (listed,) = list_runs(store, limit=1)

    assert (listed.id, listed.short_id) == (newest, newest[:16])


def test_get_run_short_id_accounts_for_other_runs(store: Store) -> None:
    started(store, run_id="0190abcdef" + "0" * 22)
    other = started(store, run_id="0190abcdef" + "1" * 22)

    assert get_run(store, other).summary.short_id == "0190abcdef1"


# schema


@pytest.mark.first_open
def test_a_fresh_ledger_is_created_at_the_schema_head(store: Store) -> None:
    with store.reading() as session:
        assert session.execute(text("SELECT version_num FROM alembic_version")).all() == [(SCHEMA_HEAD,)]


@pytest.mark.first_open
def test_a_fresh_ledger_uses_wal_and_foreign_keys(store: Store) -> None:
    if not store.is_sqlite:
        pytest.skip("WAL and the foreign_keys pragma are SQLite settings")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_schema_head_is_the_alembic_script_head() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS))
    assert scripts.get_heads() == [SCHEMA_HEAD]
    shipped = [s.revision for s in scripts.walk_revisions()]
    assert shipped[::-1] == list(SCHEMA_REVISIONS)


def test_an_old_ledger_upgrades_without_losing_a_row(tmp_path: Path) -> None:
    """A ledger at the first revision, holding a run, opens at head with the run intact."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, SCHEMA_REVISIONS[0])
        conn.execute(
            text("INSERT INTO runs (id, status, source, started_at) VALUES ('0' , 'finished', 'run', 1.0)")
        )
        conn.execute(text("INSERT INTO params VALUES ('0', 'lr', 'float', 0.1, '0.1', 'params.yaml')"))
        conn.execute(text("INSERT INTO metrics VALUES ('0', 'acc', 0.9, NULL, 'metrics.json')"))
        conn.execute(text("INSERT INTO tags VALUES ('0', 'keep')"))
    engine.dispose()

    upgraded = connect(url)
    try:
        with upgraded.reading() as session:
            assert session.execute(text("SELECT id FROM runs")).scalars().all() == ["0"]
            # Batch migrations rebuild tables; no child row may be lost on the way.
            for table in ("params", "metrics", "tags"):
                assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1, table  # noqa: S608
            assert session.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_HEAD
    finally:
        upgraded.close()


@pytest.mark.first_open
def test_models_and_migrations_agree(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from ledger.store.tables import Base

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diffs = compare_metadata(context, Base.metadata)

    assert diffs == []


def test_the_tests_template_ledger_is_the_file_a_first_open_makes(
    migrated_ledger: Callable[[Path], Path], tmp_path: Path
) -> None:
    """Tests get a copy of one migrated file (tests/conftest.py): it must hold what the
    product's own first open writes, schema, stamps and rows alike."""
    copied = migrated_ledger(tmp_path / "copied" / "ledger.db")
    created = tmp_path / "created" / "ledger.db"
    connect(f"sqlite:///{created}").close()

    assert _whole_file(copied) == _whole_file(created)


def _whole_file(path: Path) -> dict[str, object]:
    with sqlite3.connect(path) as conn:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        whole: dict[str, object] = {
            "schema": sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")),
            **{
                p: conn.execute(f"PRAGMA {p}").fetchall()
                for p in ("user_version", "application_id", "journal_mode")
            },
            **{t: sorted(conn.execute(f'SELECT * FROM "{t}"')) for t in tables},  # noqa: S608
        }
    conn.close()
    return whole


def test_reopening_a_ledger_keeps_its_runs(store: Store) -> None:
    run_id = started(store, name="kept")

    again = connect(store.url)
    try:
        assert get_run(again, run_id).summary.name == "kept"
    finally:
        again.close()


@pytest.mark.parametrize(
    "revision",
    ["9999", "ae1027a6acf", "00010"],
    ids=["far-future", "alembic-hash-style", "longer-number"],
)
def test_connect_refuses_a_ledger_from_a_newer_version(tmp_path: Path, revision: str) -> None:
    path = _ledger_stamped(tmp_path, revision)

    with pytest.raises(StoreOutdatedError, match=f"schema '{revision}' is unknown to this exp-ledger"):
        connect(f"sqlite:///{path}")


@pytest.mark.parametrize(
    "revision",
    ["0000", "0001_from_a_fork"],
    ids=["sorts-before-head", "unknown-suffix"],
)
def test_connect_refuses_a_ledger_stamped_with_an_unknown_revision(tmp_path: Path, revision: str) -> None:
    path = _ledger_stamped(tmp_path, revision)

    with pytest.raises(StoreOutdatedError):
        connect(f"sqlite:///{path}")


def test_connect_refuses_a_database_holding_foreign_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    conn.close()

    with pytest.raises(StoreOutdatedError, match="holds tables that are not an exp-ledger ledger"):
        connect(f"sqlite:///{path}")


def test_connect_leaves_a_foreign_database_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    conn.close()

    with pytest.raises(StoreOutdatedError):
        connect(f"sqlite:///{path}")

    with sqlite3.connect(path) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    conn.close()
    assert tables == [("users",)]


@pytest.mark.parametrize("size", [100, 4096, 65536], ids=["tiny", "one-page", "many-pages"])
def test_connect_to_a_corrupt_file_raises_one_clear_store_error(tmp_path: Path, size: int) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(os.urandom(size))

    with pytest.raises(StoreCorruptError) as info:
        connect(f"sqlite:///{path}")

    message = str(info.value)
    assert message.startswith(f"the ledger file {path} is damaged (file is not a database): ")
    assert message.endswith("run `ledger doctor --fix` to set it aside and rebuild the ledger")
    assert "\n" not in message


def test_connect_creates_missing_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ledger.db"

    connect(f"sqlite:///{path}").close()

    assert path.is_file()


def _ledger_stamped(tmp_path: Path, revision: str) -> Path:
    """A migrated ledger file whose alembic_version says `revision`."""
    path = tmp_path / "stamped.db"
    connect(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.close()
    return path


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_delete_runs_takes_more_ids_than_one_statement_may_bind(store: Store) -> None:
    """SQLite binds at most 250,000 parameters a statement here, psycopg 65,535."""
    from ledger.store.archive import DeleteReport, delete_runs

    kept, doomed = started(store), started(store)
    absent = [f"{i:032x}" for i in range(260_000)]

    report = delete_runs(store, [*absent, doomed])

    assert report == DeleteReport(runs=1, refs=0)
    assert [r.id for r in list_runs(store)] == [kept]
