"""Every filter gives the same answer on SQLite and PostgreSQL, by every path.

The same runs, full of edge values (NaN and infinite params and metrics, exit codes at
the ends of a 4-byte integer, names whose case only Unicode folds, LIKE wildcards),
go into a SQLite ledger and a PostgreSQL one. Each filter then runs three ways: on
the SQLite file through the stdlib fast path, on the same file through SQLAlchemy,
and on PostgreSQL. The three must print the same runs, or the same one-line error,
and none may crash (exit 3).

The edge shapes go through the real `ledger list --json` (a SQLite URL with options
takes the full path). The generated filters go through what `cmd_list` calls (parse,
`sqlite_snapshot`/`queries.list_runs`, `render.to_json`, the one error handler) with each
ledger opened once: opening a PostgreSQL ledger per command costs 0.2 s, 500 filters
would take minutes.
"""

from __future__ import annotations

import difflib
import json
import math
from typing import TYPE_CHECKING

import pytest

from ledger.cli.main import main
from ledger.core.config import load_config
from ledger.core.error_handler import Exit, error_handler
from ledger.core.filters import parse_filter
from ledger.read import queries, render, sqlite_snapshot
from ledger.store.engine import connect
from ledger.store.workspace import Workspace
from ledger.store.writes import create_run, finish_run, heartbeat
from tests.faults.filter_grammar import FilterGrammar, edge_filters
from tests.integration.test_store import DAY, T0, make_id, metric, new_run, param, run_end, seed_runs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from ledger.core.filters import Expr
    from ledger.core.summary import RunSummary
    from ledger.store.engine import Store

    Lister = Callable[["Expr | None"], "list[RunSummary] | None"]

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

SEED = 1313
GENERATED = 500


def seed_edges(store: Store) -> None:
    """The store tests' four runs, and runs at the edges of every type a filter compares."""
    seed_runs(store)
    heartbeat(store, make_id("0190dddd"))  # the running run: alive, so no path reaps it first
    edge_runs: list[tuple[str, str | None, dict[str, object], dict[str, float], int | None]] = [
        ("0191aaaa", "École", {"nan_p": math.nan, "lr": 0.5, "model": "ÉCOLE"}, {"acc": math.inf}, -9),
        ("0191bbbb", "ÉCOLE straße", {"inf_p": math.inf, "big": 2**62}, {"acc": -math.inf}, 2147483647),
        (
            "0191cccc",
            "İstanbul ǅ",
            {"inf_p": -math.inf, "lr": "0.1"},
            {"acc": -0.0, "loss": 5e-324},
            -2147483648,
        ),
        ("0191dddd", "50%_a\\b", {"model": "a_b", "lr": [1, 2]}, {"acc": 1.7976931348623157e308}, 255),
        ("0191eeee", "", {"model": "", "use_amp": "true"}, {"loss": math.nan}, 0),
        ("0191ffff", None, {"opt": "null", "epochs": 1e-320}, {}, None),
        ("0192aaaa", "x" * 255, {"name key": "🚀", "model": "日本"}, {"acc": 0.9}, 1),
    ]
    for index, (prefix, name, params, metrics, code) in enumerate(edge_runs):
        run_id = make_id(prefix)
        started = T0 + (4 + index) * DAY
        create_run(store, new_run(
            run_id, name=name, started_at=started, host="gpu-ß", user="Ana", branch="fix/é" if index % 2 else "main",
            commit=f"{index:x}abc".ljust(40, "0"), tags=["baseline", "École"] if index % 2 else ["wip"],
            params=[param(k, v) for k, v in params.items()],
        ))  # fmt: skip
        status = "finished" if code == 0 else "failed"
        metric_rows = [metric(k, v) for k, v in metrics.items()]
        finish_run(
            store,
            run_id,
            run_end(status=status, ended_at=started + 30 * index, exit_code=code, metrics=metric_rows),
        )


@pytest.fixture
def ledgers(
    tmp_path: Path,
    pg_migrated_url: str,
    migrated_ledger: Callable[[Path], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Ledger URLs holding the same runs: SQLite fast path, SQLite full path, PostgreSQL
    (both ledgers at the schema head before they are seeded: a first open is not what
    these tests are about)."""
    monkeypatch.chdir(tmp_path)
    sqlite_url = f"sqlite:///{migrated_ledger(tmp_path / 'ledger.db')}"
    pg_url = pg_migrated_url
    for url in (sqlite_url, pg_url):
        store = connect(url, upgrade=True)
        try:
            seed_edges(store)
        finally:
            store.close()
    return {"sqlite": sqlite_url, "sqlite-orm": f"{sqlite_url}?timeout=30", "postgresql": pg_url}


@pytest.fixture
def listers(ledgers: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Lister]]:
    """`cmd_list`'s two ways to a page of runs, over ledgers opened once."""
    sqlite, pg = connect(ledgers["sqlite"]), connect(ledgers["postgresql"])
    ws = Workspace(repo=None, config=load_config(None), url=ledgers["sqlite"], spool_dir=tmp_path / "spool")
    query = {"sort": [], "limit": None, "params": ["*"], "metrics": ["*"], "include_archived": True}
    try:
        yield {
            "sqlite": lambda where: sqlite_snapshot.list_runs(ws, where=where, **query),  # type: ignore[arg-type]
            "sqlite-orm": lambda where: queries.list_runs(sqlite, where=where, **query),  # type: ignore[arg-type]
            "postgresql": lambda where: queries.list_runs(pg, where=where, **query),  # type: ignore[arg-type]
        }
    finally:
        sqlite.close()
        pg.close()


def _cli(url: str, text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    monkeypatch.setenv("LEDGER_URL", url)
    code = main(["list", "--json", "--all", "--archived", "--", text])
    return _outcome(code, *capsys.readouterr(), text)


def _direct(lister: Lister, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    out, code = "", 0
    try:
        with error_handler():
            runs = lister(parse_filter(text))
            assert runs is not None, "the fast path declined"
            out = render.to_json(runs) + "\n"
    except Exit as e:
        code = e.code
    return _outcome(code, out, capsys.readouterr().err, text)


def _outcome(code: int, out: str, err: str, text: str) -> str:
    assert code in (0, 1), f"exit {code} for {text[:200]!r}: {err}"
    assert len(err.splitlines()) <= 2, err  # an error line, and at most a hint
    return f"exit {code}\n{out}{err}"


def _same(text: str, answers: dict[str, str]) -> bool:
    """Whether every path answered as the SQLite fast path did (with the diff if not)."""
    for other in ("sqlite-orm", "postgresql"):
        diff = difflib.unified_diff(
            answers["sqlite"].splitlines(), answers[other].splitlines(), "sqlite", other, lineterm="", n=2
        )
        shown = "\n".join(line[:200] for line in diff)
        assert answers["sqlite"] == answers[other], f"{text[:300]!r} differs:\n{shown}"
    return answers["sqlite"].startswith("exit 0")


def test_the_edge_filters_answer_alike_through_the_cli(
    ledgers: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    found = [
        _same(text, {k: _cli(url, text, monkeypatch, capsys) for k, url in ledgers.items()})
        for text in edge_filters()
    ]

    assert sum(found) > len(found) // 2  # most of them list runs: the data meets the edges


def test_generated_filters_answer_alike_on_every_backend_and_path(
    listers: dict[str, Lister], capsys: pytest.CaptureFixture[str]
) -> None:
    filters = FilterGrammar(SEED).filters(GENERATED)

    found = [
        _same(text, {k: _direct(lister, text, capsys) for k, lister in listers.items()}) for text in filters
    ]

    # The grammar must mostly make filters that run, not only syntax errors.
    assert sum(found) >= len(filters) // 2, sum(found)


@pytest.mark.parametrize(
    ("limit", "code", "runs"),
    [("-1", 2, None), ("99999999999999999999999999", 0, 11), ("0", 0, 0), ("2", 0, 2), ("²", 2, None)],
    ids=["negative", "past-int64", "zero", "two", "not-ascii"],
)
def test_list_limits_answer_alike_on_every_backend_and_path(
    ledgers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    limit: str,
    code: int,
    runs: int | None,
) -> None:
    for url in ledgers.values():
        monkeypatch.setenv("LEDGER_URL", url)
        try:
            got = main(["list", "--json", "--archived", "-n", limit])
        except SystemExit as e:  # argparse refuses before any ledger is opened
            got = int(str(e.code))
        out, err = capsys.readouterr()

        assert got == code, (url, err)
        if runs is None:
            assert "expected a whole number of runs, 0 or more" in err
        else:
            assert len(json.loads(out)) == runs
