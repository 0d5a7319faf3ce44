"""The one facade over the ledger database: engine set-up, schema upgrades, sessions."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ledger.core.errors import (
    StoreCorruptError,
    StoreDeniedError,
    StoreError,
    StoreOutdatedError,
    StoreUnreachableError,
)
from ledger.core.urls import sqlite_file
from ledger.store.schema import BUSY_TIMEOUT_MS, SCHEMA_HEAD, SCHEMA_REVISIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.sql.elements import ColumnElement

MIGRATIONS = Path(__file__).with_name("migrations")

MIGRATION_LOCK_KEY = 0x1ED6E2
"""PostgreSQL advisory lock taken while migrating, so concurrent clients migrate once."""

CONNECT_TIMEOUT_S = 10
"""How long to wait for a ledger server before calling it unreachable (libpq waits forever)."""

UNREACHABLE_SQLSTATES = ("08", "28", "57P", "53300")
"""SQLSTATE prefixes meaning "no usable connection": connection exceptions, failed login,
server shutting down, too many connections (https://www.postgresql.org/docs/current/errcodes-appendix.html)."""

INSUFFICIENT_PRIVILEGE = "42501"
"""The SQLSTATE of a write the server's privileges, row-level security or the ledger's
triggers (`ledger.store.policies`) refuse to this role."""

INVALID_SCHEMA_NAME = "3F000"
"""What a role without USAGE on the ledger's schema meets on opening it: no schema it can see."""


class Store:
    """An open ledger. Use `reading()` / `writing()` blocks; each thread gets its own."""

    def __init__(self, engine: Engine, *, url: str) -> None:
        self.engine = engine
        self.url = url
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._writer = engine.execution_options(ledger_immediate=True) if self.is_sqlite else engine
        self._write = sessionmaker(self._writer, expire_on_commit=False)
        # Import the dialect's INSERT now rather than at the first write: a write may
        # happen at interpreter exit, and a late import there loses the exit status
        # of an uncaught KeyboardInterrupt (it resets CPython's "exit by SIGINT" flag).
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            self._insert: Callable[[Any], Any] = sqlite_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            self._insert = pg_insert
        self._upserts: dict[tuple[Any, ...], Any] = {}

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read transaction; it never takes SQLite's write lock."""
        with self._scope(self._read) as session:
            yield session

    @contextlib.contextmanager
    def reading_core(self) -> Iterator[Connection]:
        """A read transaction on a Core connection, for queries of columns only:
        their rows come back without the ORM's result processing."""
        with self._translated(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction on an ORM session, committed on success and rolled back on any error.

        For building rows as objects (test fixtures); the ledger's writers use
        `writing_core()` (the rule is in `ledger.store.writes`).

        On SQLite it starts with BEGIN IMMEDIATE: a deferred transaction that reads
        first and writes later can fail at once with "database is locked" instead of
        waiting for the busy timeout when another process wrote in between.
        """
        with self._scope(self._write) as session:
            yield session

    @contextlib.contextmanager
    def writing_core(self) -> Iterator[Connection]:
        """A write transaction on a Core connection, as `writing()` commits and fails.

        Every writer of the ledger writes here, in Core statements (the rule and why
        are in `ledger.store.writes`).
        """
        with self._translated(), self._writer.begin() as conn:
            yield conn

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def upsert(
        self,
        session: Session | Connection,
        model: type[Any],
        rows: Sequence[dict[str, Any]],
        *,
        keys: Sequence[str],
        update: Sequence[str] = (),
        where: Callable[[Any], ColumnElement[bool]] | None = None,
    ) -> None:
        """Insert rows, or update `update` columns of rows whose `keys` exist.

        Both SQLite and PostgreSQL speak `ON CONFLICT`; only the import differs.
        `where` builds the update's condition from the proposed row (`excluded`).
        The statement is Core, on the model's table: the ORM's bulk-insert path would
        rebuild and re-key it on every call.
        """
        if not rows:
            return
        shape = (model, tuple(keys), tuple(update), where)
        stmt = self._upserts.get(shape)
        if stmt is None:  # built once per shape: building it costs more than running it
            stmt = self._insert(model.__table__)
            if update:
                stmt = stmt.on_conflict_do_update(
                    index_elements=list(keys),
                    set_={c: getattr(stmt.excluded, c) for c in update},
                    where=None if where is None else where(stmt.excluded),
                )
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
            self._upserts[shape] = stmt
        session.execute(stmt, list(rows))

    @contextlib.contextmanager
    def _scope(self, factory: sessionmaker[Session]) -> Iterator[Session]:
        with self._translated(), factory() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        """Database failures as `StoreError`s (unreachable server apart)."""
        try:
            yield
        except OperationalError as e:
            _raise_if_corrupt(e, self.url)
            if _unreachable(e, self.engine):
                raise StoreUnreachableError(
                    f"lost the ledger server at {_server(self.url)}: {_first_line(e)}"
                ) from e
            raise StoreError(f"ledger database error: {_first_line(e)}") from e
        except DBAPIError as e:
            _raise_if_corrupt(e, self.url)
            if getattr(e.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
                raise StoreDeniedError(f"the ledger server refused: {_first_line(e)}") from e
            raise StoreError(f"ledger database refused a write: {_first_line(e)}") from e


def connect(url: str, *, upgrade: bool | None = None) -> Store:
    """Open the ledger at `url`, creating or upgrading its schema as needed.

    A local SQLite ledger is upgraded in place; a shared server database is only
    upgraded when asked (`ledger db upgrade`), since every client of a team must
    move at once.
    """
    if (path := sqlite_file(url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = _make_engine(url)
    except ArgumentError as e:
        raise StoreError(f"not a database URL: {_safe_url(url)}", hint="check LEDGER_URL") from e
    store = Store(engine, url=url)
    try:
        _check_schema(store, upgrade=store.is_sqlite if upgrade is None else upgrade)
    except DBAPIError as e:
        engine.dispose()
        _raise_if_corrupt(e, url)
        message = f"cannot open the ledger at {_safe_url(url)}: {_first_line(e)}"
        if _unreachable(e, engine):
            raise StoreUnreachableError(message) from e
        if getattr(e.orig, "sqlstate", None) in (INSUFFICIENT_PRIVILEGE, INVALID_SCHEMA_NAME):
            raise StoreDeniedError(
                message, hint="the ledger's owner grants rights: ledger db grant ROLE --read"
            ) from e
        raise StoreError(message) from e
    except ImportError as e:
        engine.dispose()
        raise StoreError(
            f"cannot open the ledger at {_safe_url(url)}: missing driver {e.name}",
            hint="pip install 'exp-ledger[postgres]'",
        ) from e
    return store


def schema_version(conn: Connection) -> str | None:
    """The Alembic revision stamped in the database, or None for an empty one."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_schema(store: Store) -> None:
    """Run every pending migration (Alembic is imported only here: it is slow).

    Several processes may open a new ledger at once (eight trainings started by a
    script): the migration runs in a write-locked transaction (BEGIN IMMEDIATE on
    SQLite, an advisory lock on PostgreSQL) and re-reads the version inside it, so
    exactly one of them migrates and the others wait, then find nothing to do.
    """
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = store.engine.execution_options(ledger_immediate=True)
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection  # the DBAPI connection (sqlite3 or psycopg)
        if store.is_sqlite:
            # Batch migrations rebuild a table by copying it and dropping the old one;
            # with foreign keys on, that drop would cascade into every child table.
            # The pragma only takes effect outside a transaction, hence the raw call.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                if store.engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                if schema_version(conn) == SCHEMA_HEAD:
                    return
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                if store.is_sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise StoreError("the ledger upgrade left broken references; nothing was changed")
        finally:
            if store.is_sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def _check_schema(store: Store, *, upgrade: bool) -> None:
    with store.engine.connect() as conn:
        version = schema_version(conn)
        empty = version is None and not inspect(conn).get_table_names()
        if version is None and not empty:
            # Another process's first open may have committed its migration (tables and
            # version at once) between the two reads above: read the version again.
            version = schema_version(conn)
    if version == SCHEMA_HEAD:
        return
    if version is None and not empty:
        raise StoreOutdatedError(
            f"{_safe_url(store.url)} holds tables that are not an exp-ledger ledger",
            hint="point LEDGER_URL at an empty database",
        )
    if version is not None and version not in SCHEMA_REVISIONS:
        raise StoreOutdatedError(
            f"the ledger's schema {version!r} is unknown to this exp-ledger (a newer one wrote it?)",
            hint="upgrade exp-ledger: pip install -U exp-ledger",
        )
    if not empty and not upgrade:
        raise StoreOutdatedError(
            f"the ledger's schema ({version}) is older than this exp-ledger's ({SCHEMA_HEAD})",
            hint="run: ledger db upgrade",
        )
    upgrade_schema(store)


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        args: dict[str, Any] = {}
        if "connect_timeout" not in url and url.startswith(("postgresql+psycopg:", "postgresql+psycopg2:")):
            args["connect_timeout"] = CONNECT_TIMEOUT_S  # a libpq option: psycopg drivers only
        return create_engine(url, pool_pre_ping=True, connect_args=args)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from Python's sqlite3 module, so BEGIN is ours
        # (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#pysqlite-serializable).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("ledger_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


SQLITE_DAMAGED = (11, 26)
"""SQLITE_CORRUPT ("database disk image is malformed") and SQLITE_NOTADB ("file is not a database")."""


def _is_damaged(error: BaseException) -> bool:
    """Whether a SQLite error (sqlite3's or SQLAlchemy's wrapping) says the file is damaged."""
    orig = getattr(error, "orig", error)
    return getattr(orig, "sqlite_errorcode", None) in SQLITE_DAMAGED


def _raise_if_corrupt(error: DBAPIError, url: str) -> None:
    if _is_damaged(error):
        raise StoreCorruptError(
            f"the ledger file {sqlite_file(url) or _safe_url(url)} is damaged ({_first_line(error)}): "
            "run `ledger doctor --fix` to set it aside and rebuild the ledger"
        ) from error


def _unreachable(error: DBAPIError, engine: Engine) -> bool:
    """Whether a server-side failure means "no connection" rather than a bad statement."""
    if engine.dialect.name == "sqlite" or not isinstance(error, OperationalError):
        return False
    if error.connection_invalidated:
        return True
    state = getattr(error.orig, "sqlstate", None)
    # psycopg gives no SQLSTATE when libpq failed before talking to the server.
    return state is None or str(state).startswith(UNREACHABLE_SQLSTATES)


def _server(url: str) -> str:
    """`host:port` of a server URL, as error messages name it."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if not parsed.host:
        return _safe_url(url)
    return parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"


def _first_line(error: Exception) -> str:
    orig = getattr(error, "orig", None)
    return str(orig if orig is not None else error).strip().splitlines()[0]


def _safe_url(url: str) -> str:
    """The URL without its password, fit for an error message."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
