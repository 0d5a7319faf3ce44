"""The team ledger on PostgreSQL: clear connection errors, many writers at once.

The PostgreSQL tests use the server named by LEDGER_TEST_PG_URL, each in a schema of
its own (the `pg_url` fixture), and are skipped with the reason when it is unset.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from ledger.read.queries import get_run, get_series, list_runs
from ledger.store import tables
from ledger.store.engine import connect
from tests.helpers import ledger

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

WRITERS = 16
RUNS_PER_WRITER = 2
KEYS = ("loss", "acc", "lr")
STEPS = 600


def free_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("url", "named"),
    [
        (f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test", "127.0.0.1"),
        ("postgresql+psycopg://nobody:s3cret@127.0.0.1:5432/test", "127.0.0.1"),
        ("postgresql+psycopg://postgres@no-such-host.invalid:5432/test", "no-such-host.invalid"),
    ],
    ids=["refused", "unknown-role", "unknown-host"],
)
def test_an_unreachable_server_is_one_line_naming_the_host(tmp_repo: TmpRepo, url: str, named: str) -> None:
    proc = ledger("list", cwd=tmp_repo.root, check=False, env={"LEDGER_URL": url})

    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ledger: error: cannot open the ledger at postgresql+psycopg://")
    assert named in lines[0]
    assert "Traceback" not in proc.stderr
    assert "s3cret" not in proc.stderr


def test_the_store_error_of_an_unreachable_server_is_its_own_type() -> None:
    from ledger.core.errors import StoreUnreachableError

    with pytest.raises(StoreUnreachableError, match=r"127\.0\.0\.1"):
        connect(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")


@pytest.mark.postgres
def test_a_fresh_server_database_gets_the_schema_on_first_open(pg_url: str) -> None:
    store = connect(pg_url)
    try:
        assert list_runs(store) == []
    finally:
        store.close()


WRITER_SCRIPT = """
import sys
import ledger

index = int(sys.argv[1])
for n in range({runs}):
    with ledger.start_run(name=f"writer-{{index}}-{{n}}", tags=["w{{}}".format(index)]) as run:
        ledger.log_params({{"writer": index, "n": n, "opt": {{"name": "adam", "betas": [0.9, 0.99]}}}})
        for step in range({steps}):
            ledger.log_metrics({{"loss": 1.0 / (step + 1), "acc": step / {steps}, "lr": 0.1}}, step=step)
            if step % 97 == 0:
                run.flush()
"""


@pytest.mark.postgres
@pytest.mark.slow
def test_sixteen_processes_write_into_one_ledger_and_every_row_arrives(
    tmp_repo: TmpRepo, pg_url: str, tmp_path: Path
) -> None:
    tmp_repo.gen({"writer.py": textwrap.dedent(WRITER_SCRIPT.format(runs=RUNS_PER_WRITER, steps=STEPS))})
    tmp_repo.commit("writer")
    env = {**os.environ, "LEDGER_URL": pg_url, "LEDGER_FLUSH_INTERVAL": "0.05"}
    procs = [
        subprocess.Popen(
            [sys.executable, "writer.py", str(i)],
            cwd=tmp_repo.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    results = [p.communicate(timeout=300) for p in procs]

    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert err == "", err
    store = connect(pg_url)
    try:
        runs = list_runs(store, limit=None, params=["*"])
        assert len(runs) == WRITERS * RUNS_PER_WRITER
        assert {r.status for r in runs} == {"finished"}
        assert {(r.params["writer"], r.params["n"]) for r in runs} == {
            (w, n) for w in range(WRITERS) for n in range(RUNS_PER_WRITER)
        }
        for run in runs:
            assert run.tags == (f"w{run.params['writer']}",)
            for key in KEYS:
                points = get_series(store, run.id, key)
                assert list(points.steps) == list(range(STEPS)), (run.name, key)
            assert get_run(store, run.id).summary.metrics["loss"] == 1.0 / STEPS
        with store.reading() as session:
            assert session.scalar(select(func.count()).select_from(tables.SeriesRow)) == len(runs) * len(KEYS)
    finally:
        store.close()


@pytest.fixture
def natural_language_pg_url() -> Iterator[str]:
    """A database whose default collation is ICU's en-US (`a` < `B` < `b`, `_` ignored),
    as on many real servers; dropped after the test."""
    from tests.conftest import PG_SKIP, PG_URL

    if not PG_URL:
        pytest.skip(PG_SKIP)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    name = f"ledger_icu_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            try:
                conn.execute(
                    text(
                        f"CREATE DATABASE {name} TEMPLATE template0 "
                        "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                    )
                )
            except DBAPIError as e:
                pytest.skip(f"the server cannot create an ICU database: {e.orig}")
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        from ledger.store.policies import drop_groups

        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            drop_groups(conn, name, "public")
        admin.dispose()


NAMES = ["b", "B", "a", "A", "_z", "a-1", "a1"]


@pytest.mark.postgres
def test_text_sorts_and_compares_as_on_sqlite_whatever_the_server_collation(
    natural_language_pg_url: str, tmp_path: Path
) -> None:
    from ledger.core.filters import parse_filter, parse_sort
    from ledger.core.ids import new_run_id
    from ledger.core.records import NewRun
    from ledger.store.writes import create_run

    results = []
    for url in (f"sqlite:///{tmp_path / 'ledger.db'}", natural_language_pg_url):
        store = connect(url)
        try:
            for i, name in enumerate(NAMES):
                create_run(store, NewRun(id=new_run_id(), source="run", started_at=float(i), name=name))
            by_name = [r.name for r in list_runs(store, sort=[parse_sort("name")], limit=None)]
            below = {r.name for r in list_runs(store, where=parse_filter("name < a1"), limit=None)}
            results.append((by_name, below))
        finally:
            store.close()

    assert results[0] == results[1]
    assert results[0][0] == sorted(NAMES)
