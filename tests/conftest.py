"""Isolation from the developer's machine, and the shared repo/store fixtures."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import uuid
from typing import TYPE_CHECKING

import pytest

from tests.projects import copy_project, isolate, place_file
from tests.repo import DVC, TmpRepo

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from ledger.store.engine import Store

PG_URL = os.environ.get("LEDGER_TEST_PG_URL")
"""The PostgreSQL server PG tests use; read before `isolated_env` drops every LEDGER_* variable."""

PG_SKIP = "LEDGER_TEST_PG_URL is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No global git config, hooks or signing, fixed identities and dates, no LEDGER_* leak."""
    isolate(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture
def tmp_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TmpRepo:
    """An empty git repository (no commits) as the working directory."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    monkeypatch.chdir(root)
    return TmpRepo(root)


@pytest.fixture
def own_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[TmpRepo], TmpRepo]:
    """`own_copy(project)`: this test's copy of a project built once and shared
    (tests/projects.py), as the working directory."""

    def copy(project: TmpRepo) -> TmpRepo:
        repo = copy_project(project.root, tmp_path / "repo")
        monkeypatch.chdir(repo.root)
        return repo

    return copy


@pytest.fixture(scope="session")
def _dvc_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dvc init` is slow; do it once and copy the result into each test (DVC's trick)."""
    if DVC is None:
        pytest.skip("dvc is not installed")
    root = tmp_path_factory.mktemp("dvc-template") / "repo"
    root.mkdir()
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    subprocess.run([DVC, "init", "-q"], cwd=root, check=True, env=env)
    subprocess.run([DVC, "config", "core.analytics", "false"], cwd=root, check=True, env=env)
    return root


@pytest.fixture
def dvc_repo(_dvc_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TmpRepo:
    """A git repository with DVC initialised, as the working directory."""
    root = tmp_path / "repo"
    shutil.copytree(_dvc_template, root, symlinks=True)
    monkeypatch.chdir(root)
    return TmpRepo(root)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL schema of its own, dropped after the test.

    A schema per test (selected through libpq's `options=-csearch_path=...`) keeps
    tests apart when xdist runs them in parallel against one server.
    """
    if not PG_URL:
        pytest.skip(PG_SKIP)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    schema = f"t_{uuid.uuid4().hex[:20]}"
    admin = create_engine(PG_URL, poolclass=NullPool)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        from ledger.store.policies import drop_groups

        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            drop_groups(conn, make_url(PG_URL).database or "", schema)
        admin.dispose()


@pytest.fixture(scope="session")
def _pg_template(worker_id: str) -> Iterator[str]:
    """A PostgreSQL database migrated to the head once per session (per xdist worker),
    for `CREATE DATABASE ... TEMPLATE` to copy: cheaper than Alembic's scripts on each."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    from ledger.store.engine import connect

    name = f"ledger_tpl_{worker_id}_{uuid.uuid4().hex[:8]}"
    with _pg_admin() as admin:
        admin(f'CREATE DATABASE "{name}"')
    try:
        connect(_pg_database_url(name), upgrade=True).close()
        yield name
    finally:
        from ledger.store.policies import group_names

        with _pg_admin() as admin:
            admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for group in group_names(name, "public").values():  # made by the upgrade; copies share them
                admin(f'DROP ROLE IF EXISTS "{group}"')


@pytest.fixture
def pg_migrated_url(_pg_template: str) -> Iterator[str]:
    """The URL of a fresh PostgreSQL database at the schema head, of its own, dropped after."""
    with pg_database_copy(_pg_template) as url:
        yield url


@pytest.fixture(scope="module")
def pg_migrated_url_for_module(_pg_template: str) -> Iterator[str]:
    """`pg_migrated_url`, one for the whole module: for data written once that its tests only read."""
    with pg_database_copy(_pg_template) as url:
        yield url


@contextlib.contextmanager
def pg_database_copy(template: str) -> Iterator[str]:
    """A copy of `template`, dropped after. Copied through the write-ahead log: the other
    strategy, FILE_COPY, checkpoints the whole server, which takes seconds while other
    tests write."""
    name = f"t_{uuid.uuid4().hex[:20]}"
    with _pg_admin() as admin:
        admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY WAL_LOG')
    try:
        yield _pg_database_url(name)
    finally:
        with _pg_admin() as admin:
            admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _pg_admin() -> Iterator[Callable[[str], None]]:
    """Statements that cannot run in a transaction (CREATE/DROP DATABASE), on the test server."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    assert PG_URL is not None
    engine = create_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:

            def run(sql: str) -> None:
                conn.execute(text(sql))

            yield run
    finally:
        engine.dispose()


def _pg_database_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    assert PG_URL is not None
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _ledger_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite ledger created and migrated by the product's first open, once per session
    (per xdist worker): loading and running Alembic's scripts costs far more than a copy
    of the file."""
    from ledger.store.engine import connect

    path = tmp_path_factory.mktemp("ledger-template") / "ledger.db"
    connect(f"sqlite:///{path}", upgrade=True).close()
    leftovers = sorted(p.name for p in path.parent.iterdir() if p != path)
    assert leftovers == [], f"the closed template left {leftovers}: copying the file alone would lose them"
    return path


@pytest.fixture(scope="session")
def migrated_ledger(_ledger_template: Path) -> Callable[[Path], Path]:
    """`migrated_ledger(path)` puts a fresh ledger at the schema head at `path`, the file a
    first open would leave there."""

    return functools.partial(place_file, _ledger_template)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh ledger: a file-backed SQLite one (WAL and foreign keys are file
    features), then the same on a PostgreSQL schema of its own (skipped, with the
    reason, when LEDGER_TEST_PG_URL is unset).

    The SQLite one is a copy of the session's migrated template, unless the test is
    marked `first_open`: then Alembic migrates it here, as a user's first open does.
    """
    from ledger.store.engine import connect

    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        if request.node.get_closest_marker("first_open") is None:
            request.getfixturevalue("migrated_ledger")(path)
        url = f"sqlite:///{path}"
    elif request.node.get_closest_marker("first_open") is None:
        url = request.getfixturevalue("pg_migrated_url")
    else:
        url = request.getfixturevalue("pg_url")
    opened = connect(url, upgrade=True)
    yield opened
    opened.close()
