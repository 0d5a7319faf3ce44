"""The pure parts of commit runs: result globs, historical IDs, commit parsing, bulk recording."""

from __future__ import annotations

import dataclasses
import io
import math
from typing import TYPE_CHECKING, Any, cast

import pytest

from ledger.commits.backfill import Progress
from ledger.commits.blobs import _Mirror, _params_or_error
from ledger.commits.runs import (
    CommitRun,
    carries_results,
    known_commits,
    record_commit_runs,
    result_pathspecs,
    run_id_at,
)
from ledger.core.config import Config
from ledger.core.ids import new_run_id
from ledger.core.records import DataItem, Metric, NewRun, Param
from ledger.git.batch import glob_regex, parse_commit
from ledger.read import queries

if TYPE_CHECKING:
    from pathlib import Path

    from ledger.store.engine import Store


def config(**values: Any) -> Config:
    return dataclasses.replace(Config(), **values)


def bare_config() -> Config:
    """Default result patterns, and one params and one metrics file."""
    return config(params_files=("params.yaml",), metrics_files=("m.json",))


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("dvc.lock", "dvc.lock", True),
        ("dvc.lock", "a/dvc.lock", False),
        ("**/dvc.lock", "dvc.lock", True),
        ("**/dvc.lock", "a/b/dvc.lock", True),
        ("**/dvc.lock", "a/b/xdvc.lock", False),
        ("*.dvc", "x.dvc", True),
        ("*.dvc", "a/x.dvc", False),
        ("*/dvc.lock", "a/dvc.lock", True),
        ("*/dvc.lock", "a/b/dvc.lock", False),
        ("a/**/b", "a/b", True),
        ("a/**/b", "a/x/y/b", True),
        ("out/**", "out/a/b.json", True),
        ("out/**", "out", False),
        ("?.json", "a.json", True),
        ("?.json", "/.json", False),
        ("[ab].json", "b.json", True),
        ("[!ab].json", "c.json", True),
        ("[!ab].json", "a.json", False),
        ("[a", "[a", True),
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
        ("m.json", "mxjson", False),
    ],
)
def test_glob_regex(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_regex([pattern]).fullmatch(path)) is matches


def test_glob_regex_of_no_patterns_matches_nothing() -> None:
    assert glob_regex([]).fullmatch("") is None


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["params.yaml"], True),
        (["src/train.py", "m.json"], True),
        (["conf/params.yaml"], False),
        (["data/raw.csv.dvc"], True),
        (["sub/dvc.lock"], True),
        (["dvc.yaml", "README.md"], False),
        ([], False),
    ],
    ids=["params", "metrics", "params-elsewhere", "dvc-file", "nested-lock", "declarations", "none"],
)
def test_carries_results_with_default_patterns(paths: list[str], expected: bool) -> None:
    assert carries_results(paths, bare_config()) is expected


def test_config_params_and_metrics_names_are_literal() -> None:
    cfg = config(params_files=("p[1].yaml",), metrics_files=())

    assert carries_results(["p[1].yaml"], cfg)
    assert not carries_results(["p1.yaml"], cfg)


def test_configured_patterns_replace_the_defaults() -> None:
    cfg = config(result_patterns=["results/**"])

    assert carries_results(["results/a/b.json"], cfg)
    assert not carries_results(["dvc.lock"], cfg)
    assert carries_results(["params.yaml"], cfg)


def test_pathspecs_are_literal_for_files_and_glob_for_patterns() -> None:
    assert result_pathspecs(bare_config()) == [
        ":(literal)params.yaml",
        ":(literal)m.json",
        *(f":(glob){p}" for p in Config().result_patterns),
    ]


def test_run_id_at_carries_the_time() -> None:
    run_id = run_id_at(1_767_225_600.25)

    assert int(run_id[:12], 16) == 1_767_225_600_250
    assert run_id[12] == "7"
    assert run_id[16] in "89ab"
    assert len(run_id) == 32


def test_run_ids_in_one_millisecond_keep_the_order_asked() -> None:
    ids = [run_id_at(1_500_000_000.5) for _ in range(50)]

    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def test_run_ids_sort_by_the_moment_not_by_creation() -> None:
    later = run_id_at(1_600_000_000)
    earlier = run_id_at(1_400_000_000)

    assert earlier < later < new_run_id()


def test_run_id_before_1970_is_clamped() -> None:
    assert run_id_at(-5)[:12] == "000000000000"


def test_parse_commit() -> None:
    raw = (
        b"tree 6a05467587a22077b91c27b079ceff036721e192\n"
        b"parent 4fc8195165c6c6f458948b7625b4cd2b3d8d3858\n"
        b"author A U Thor <a@example.com> 1700000000 +0200\n"
        b"committer C O Mitter <c@example.com> 1700000123 -0500\n"
        b"\n"
        b"committer 1 is not a header here\n"
    )

    head = parse_commit(raw)

    assert (head.tree, head.committed_at) == ("6a05467587a22077b91c27b079ceff036721e192", 1_700_000_123)


def commit_run(sha: str | None, *, at: float = 1_700_000_000.0, **fields: object) -> CommitRun:
    metrics = cast("list[Metric]", fields.pop("metrics", []))
    run = NewRun(
        id=run_id_at(at),
        source="backfill",
        started_at=at,
        commit=sha,
        snapshot=sha,
        dirty=False,
        status="finished",
        **fields,  # type: ignore[arg-type]
    )
    return CommitRun(run, metrics)


def test_record_writes_params_metrics_and_data(store: Store) -> None:
    item = commit_run(
        "a" * 40,
        branch="main",
        params=[Param("lr", 0.1, "params.yaml"), Param("lr", 0.2, "params.yaml"), Param("n", 3, "p")],
        metrics=[Metric("acc", 0.5, None, "m.json"), Metric("loss", math.nan, None, "m.json")],
        data=[DataItem("model.pkl", "out", "md5", "b" * 32, 20, None, "dvc.lock", "train", None)],
        capture_errors=["m.json: metric 'x' is not a number"],
        tags=["t1", "t1"],
    )

    assert record_commit_runs(store, [item]) == [item.run.id]

    run = queries.get_run(store, item.run.id)
    assert (run.summary.source, run.summary.status, run.summary.commit) == ("backfill", "finished", "a" * 40)
    assert run.summary.ended_at is None
    assert run.summary.tags == ("t1",)
    assert {p.key: p.value for p in run.params} == {"lr": 0.2, "n": 3}
    assert {m.key: m.value for m in run.metrics}["acc"] == 0.5
    assert math.isnan({m.key: m.value for m in run.metrics}["loss"])
    assert [(d.path, d.value, d.stage) for d in run.data] == [("model.pkl", "b" * 32, "train")]
    assert run.capture_errors == ("m.json: metric 'x' is not a number",)


def test_record_is_idempotent_by_commit(store: Store) -> None:
    first = [commit_run("a" * 40), commit_run("b" * 40)]
    again = [commit_run("b" * 40), commit_run("c" * 40), commit_run("c" * 40)]

    assert record_commit_runs(store, first) == [r.run.id for r in first]
    assert record_commit_runs(store, again) == [again[1].run.id]
    assert record_commit_runs(store, again) == []
    assert len(queries.list_runs(store, limit=None)) == 3


def test_runs_of_other_sources_do_not_count_as_recorded(store: Store) -> None:
    from ledger.store.writes import create_run

    create_run(store, NewRun(id=new_run_id(), source="run", started_at=1.0, commit="a" * 40))

    assert known_commits(store, ["a" * 40]) == set()
    assert len(record_commit_runs(store, [commit_run("a" * 40)])) == 1
    assert known_commits(store, ["a" * 40, "b" * 40]) == {"a" * 40}


def test_record_nothing(store: Store) -> None:
    assert record_commit_runs(store, []) == []


def test_known_commits_in_chunks(store: Store) -> None:
    shas = [f"{i:040x}" for i in range(1200)]
    record_commit_runs(store, [commit_run(s) for s in shas[::2]])

    assert known_commits(store, shas) == set(shas[::2])


def test_each_of_many_runs_recorded_at_once_is_sealed_with_its_own_digest(store: Store) -> None:
    """A backfill seals its runs a batch at a time: each digest is its own run's."""
    from sqlalchemy import select

    from ledger.store.record_rows import digest_of, read_bundle, table
    from ledger.store.writes import SEAL_BATCH

    count = SEAL_BATCH * 2 + 3
    runs = [
        commit_run(f"{i:040x}", at=1_700_000_000.0 + i, metrics=[Metric("loss", float(i), None, "m.json")])
        for i in range(count)
    ]
    ids = record_commit_runs(store, runs)

    runs_table = table("runs")
    with store.reading() as session:
        stored = dict(session.execute(select(runs_table.c.id, runs_table.c.digest)).all())
        bundle = read_bundle(session, ids)
    assert {run_id: digest_of(bundle, run_id) for run_id in ids} == stored
    assert len(ids) == count
    assert len(set(stored.values())) == count


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_rewrites_one_line() -> None:
    stream = _Tty()
    progress = Progress(stream, 400)

    progress.update(200)
    progress.update(200)
    progress.done()

    text = stream.getvalue()
    assert text.startswith("\rbackfill: 200/400 commits")
    assert "\rbackfill: 400/400 commits" in text
    assert text.endswith("\r")
    assert "\n" not in text


def test_progress_is_silent_in_a_pipe() -> None:
    stream = io.StringIO()
    progress = Progress(stream, 400)

    progress.update(400)
    progress.done()

    assert stream.getvalue() == ""


PARAMS_CASES = {
    "yaml-1.2": ("params.yaml", b"lr: 1e-3\nepochs: 010\nflag: yes\nmodel:\n  depth: 3\nlist: [1, 2]\n"),
    "json": ("params.json", b'{"lr": 0.5, "nested": {"a": null}}'),
    "toml": ("conf/params.toml", b'lr = 0.1\n[model]\nname = "net"\n'),
    "empty": ("params.yaml", b""),
    "not-a-mapping": ("params.yaml", b"- 1\n- 2\n"),
    "bad-yaml": ("params.yaml", b"lr: [1\n"),
    "bad-json": ("params.json", b"{"),
    "bad-utf8": ("params.yaml", b"lr: \xff\xfe\n"),
}


@pytest.mark.parametrize(("name", "raw"), PARAMS_CASES.values(), ids=PARAMS_CASES.keys())
def test_parse_params_reads_blobs_as_read_params_file_reads_files(
    tmp_path: Path, name: str, raw: bytes
) -> None:
    from ledger.capture.params import params_from, read_params_file

    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    try:
        expected: list[Param] | None = params_from(read_params_file(path), name)
    except ValueError:
        expected = None

    parsed = _params_or_error(name, raw)

    if expected is None:
        assert isinstance(parsed, str)
        assert parsed.startswith(f"{name}: ")
    else:
        assert parsed == expected


METRICS_CASES = {
    "json": ("metrics.json", b'{"acc": 0.9, "eval": {"loss": NaN}, "n": 3}'),
    "yaml": ("m/metrics.yaml", b"acc: 0.9\nf1: '0.5'\n"),
    "not-numbers": ("metrics.json", b'{"acc": true, "name": "x", "ok": 1}'),
    "empty-yaml": ("metrics.yaml", b""),
    "json-list": ("metrics.json", b"[1, 2]"),
    "bad-json": ("metrics.json", b"{"),
}


@pytest.mark.parametrize(("name", "raw"), METRICS_CASES.values(), ids=METRICS_CASES.keys())
def test_parse_metrics_reads_blobs_as_read_metrics_file_reads_files(
    tmp_path: Path, name: str, raw: bytes
) -> None:
    from ledger.capture.metrics_files import parse_metrics, read_metrics_file

    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    expected_values, expected_errors = read_metrics_file(path, label=name)

    values, errors = parse_metrics(name, raw)

    assert values.keys() == expected_values.keys()
    assert all(math.isclose(v, expected_values[k]) or math.isnan(v) for k, v in values.items())
    assert len(errors) == len(expected_errors)
    assert all(e.startswith(f"{name}: ") for e in errors)


def test_mirror_holds_exactly_the_files_given(tmp_path: Path) -> None:
    mirror = _Mirror(tmp_path / "m")
    (tmp_path / "m").mkdir()

    mirror.show({"a": b"1", "b/dvc.lock": b"2", "../escape": b"x"})
    folder = mirror.show({"a/dvc.lock": b"3", "b/dvc.lock": b"2"})  # `a` became a folder

    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == ["a/dvc.lock", "b/dvc.lock"]
    assert (folder / "a" / "dvc.lock").read_bytes() == b"3"
    assert not (tmp_path / "escape").exists()
