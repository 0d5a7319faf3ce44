# ruff: noqa: S608  (DDL takes no parameters: every name is quoted by _ident or _literal)
"""Who may do what on a team ledger, enforced by PostgreSQL itself.

Each person connects as their own role. Three NOLOGIN groups per ledger hold the
rights (`ledger db grant ROLE --read | --write | --admin` makes a role a member of
one): readers see everything; writers also record runs and annotate any run (tags,
notes); admins also archive anyone's run and delete runs. The rules live in the
server, so a client that skips this package's code is held to them:

- privileges say which tables a group may read or write;
- row-level security lets a run's record (params, metrics, series, data, outputs,
  log) be written only by the role that owns the run, and only while it is `running`;
- triggers set a run's owner to the server's `current_user` (the client's value is
  never trusted), refuse any change to a run row once it has ended, refuse an
  archive mark on someone else's run without admin rights, and log every tag, note
  and archive mark in `annotations` with the server's `current_user` and clock.

Superusers bypass row-level security (PostgreSQL's rule), not the triggers.
Every function pins `search_path`, so a role cannot shadow the ledger's tables or
`pg_catalog` with its own (temporary tables included).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from ledger.core.errors import LedgerError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ledger.store.engine import Store

LEVELS = ("reader", "writer", "admin")
"""The groups, each holding the rights of the one before it."""

RECORD_TABLES = ("params", "metrics", "series", "data_refs", "outputs", "logs")
"""Tables of a run's captured record keyed by `run_id` (chunks hang off `series`)."""

ANNOTATION_TABLES = ("tags", "commit_links")
"""Tables any writer may add to, on any run."""

ROLE_NAME_MAX = 63


def group_names(database: str, schema: str) -> dict[str, str]:
    """The three group roles of the ledger in `database`.`schema` (roles are cluster-wide,
    so the names carry the ledger's place; a name too long for PostgreSQL is hashed)."""
    place = database if schema == "public" else f"{database}_{schema}"
    stem = f"{place}_ledger"
    if len(stem) + len("_reader") > ROLE_NAME_MAX:
        stem = f"ledger_{hashlib.sha256(place.encode()).hexdigest()[:16]}"
    return {level: f"{stem}_{level}" for level in LEVELS}


def drop_groups(conn: Connection, database: str, schema: str) -> None:
    """Drop the groups of a ledger whose schema (or database) is gone: roles outlive both."""
    for name in group_names(database, schema).values():
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {_ident(name)}")


def install(conn: Connection) -> None:
    """Create the groups, privileges, policies and triggers (run by `ledger db upgrade`).

    Idempotent: functions are replaced, policies and triggers dropped and made again.
    The role running it must be able to create roles (CREATEROLE), and becomes an admin.
    """
    database, schema = conn.execute(text("SELECT current_database(), current_schema()")).one()
    groups = group_names(database, schema)
    raw: Any = conn.connection.driver_connection  # psycopg's own: no parameters, so `%` is plain text
    for statement in _statements(schema, groups):
        raw.execute(statement)


def uninstall(conn: Connection) -> None:
    """Remove the policies, triggers and functions (the schema downgrade); groups stay,
    being cluster-wide: `DROP ROLE` them once no ledger uses them."""
    for table in ("runs", *RECORD_TABLES, "metric_chunks", "reproductions"):
        conn.exec_driver_sql(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        for command in ("select", "insert", "update", "delete"):
            conn.exec_driver_sql(f"DROP POLICY IF EXISTS ledger_{command} ON {table}")
    for trigger, table in (("ledger_guard", "runs"), ("ledger_log", "runs"), ("ledger_log", "tags")):
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for function in _FUNCTIONS:
        conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}")


_FUNCTIONS = (
    "ledger_log_run_annotation()",
    "ledger_log_tag()",
    "ledger_stamp_annotation()",
    "ledger_guard_run()",
    "ledger_run_mine(text)",
    "ledger_series_open(integer)",
    "ledger_run_open(text)",
    "ledger_is_admin()",
    "ledger_group(text)",
)


def grant(store: Store, role: str, level: str) -> str:
    """Make `role` a member of exactly the group of `level` (revoking the others); its name.

    Raises:
        LedgerError: not a PostgreSQL ledger, or no such role on the server.
        StoreDeniedError: this login may not grant the ledger's groups (not its owner).
    """
    if store.is_sqlite:
        raise LedgerError(
            "a SQLite ledger has one user and no roles",
            hint="rights are for a team ledger on PostgreSQL (LEDGER_URL=postgresql+psycopg://...)",
        )
    if level not in LEVELS:
        raise ValueError(level)
    with store.writing_core() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is None:
            raise LedgerError(
                f"no role {role!r} on the ledger server",
                hint=f"create it first, as an administrator: CREATE ROLE {_ident(role)} LOGIN",
            )
        groups = {lvl: conn.scalar(text("SELECT ledger_group(:l)"), {"l": lvl}) for lvl in LEVELS}
        if role in groups.values():
            raise LedgerError(f"{role!r} is one of the ledger's own groups")
        for other in LEVELS:
            if other != level and _is_direct_member(conn, role, groups[other]):
                conn.exec_driver_sql(f"REVOKE {_ident(groups[other])} FROM {_ident(role)}")
        conn.exec_driver_sql(f"GRANT {_ident(groups[level])} TO {_ident(role)}")
    return str(groups[level])


def current_role(store: Store) -> str | None:
    """The server role this connection writes as; None on SQLite."""
    if store.is_sqlite:
        return None
    with store.reading_core() as conn:
        return str(conn.scalar(text("SELECT current_user")))


def _is_direct_member(conn: Connection, role: str, group: str) -> bool:
    found = conn.scalar(
        text(
            "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = :g AND r.rolname = :r"
        ),
        {"g": group, "r": role},
    )
    return found is not None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _statements(schema: str, groups: dict[str, str]) -> list[str]:
    reader, writer, admin = (_ident(groups[level]) for level in LEVELS)
    pinned = f"SET search_path = pg_catalog, {_ident(schema)}, pg_temp"
    denied = "USING ERRCODE = 'insufficient_privilege'"
    out = [
        *(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {_literal(name)}) "
            f"THEN CREATE ROLE {_ident(name)} NOLOGIN; END IF; END $$"
            for name in groups.values()
        ),
        f"GRANT {reader} TO {writer}",
        f"GRANT {writer} TO {admin}",
        f"GRANT {admin} TO CURRENT_USER",
        f"""CREATE OR REPLACE FUNCTION ledger_group(level text) RETURNS name
            LANGUAGE sql IMMUTABLE {pinned} AS $$
            SELECT CASE level WHEN 'reader' THEN {_literal(groups["reader"])}::name
                              WHEN 'writer' THEN {_literal(groups["writer"])}::name
                              WHEN 'admin' THEN {_literal(groups["admin"])}::name END $$""",
        f"""CREATE OR REPLACE FUNCTION ledger_is_admin() RETURNS boolean
            LANGUAGE sql STABLE {pinned} AS $$
            SELECT pg_has_role(current_user, ledger_group('admin'), 'USAGE') $$""",
        f"""CREATE OR REPLACE FUNCTION ledger_run_open(run text) RETURNS boolean
            LANGUAGE sql STABLE {pinned} AS $$
            SELECT EXISTS (SELECT 1 FROM runs
                           WHERE id = run AND owner = current_user AND status = 'running') $$""",
        f"""CREATE OR REPLACE FUNCTION ledger_series_open(series_id integer) RETURNS boolean
            LANGUAGE sql STABLE {pinned} AS $$
            SELECT EXISTS (SELECT 1 FROM series s JOIN runs r ON r.id = s.run_id
                           WHERE s.id = series_id AND r.owner = current_user AND r.status = 'running') $$""",
        f"""CREATE OR REPLACE FUNCTION ledger_run_mine(run text) RETURNS boolean
            LANGUAGE sql STABLE {pinned} AS $$
            SELECT EXISTS (SELECT 1 FROM runs WHERE id = run AND owner = current_user) $$""",
        f"""CREATE OR REPLACE FUNCTION ledger_guard_run() RETURNS trigger
            LANGUAGE plpgsql {pinned} AS $$
            BEGIN
              IF TG_OP = 'INSERT' THEN
                NEW.owner := current_user;
                RETURN NEW;
              END IF;
              IF NEW.owner IS DISTINCT FROM OLD.owner THEN
                RAISE EXCEPTION 'run % was recorded by %: its owner never changes',
                  OLD.id, coalesce(OLD.owner, 'an unknown role') {denied};
              END IF;
              IF (to_jsonb(NEW) - 'note' - 'archived') IS DISTINCT FROM (to_jsonb(OLD) - 'note' - 'archived') THEN
                IF OLD.status <> 'running' THEN
                  RAISE EXCEPTION 'run % has ended (%): its record can no longer change',
                    OLD.id, OLD.status {denied};
                END IF;
                IF OLD.owner IS DISTINCT FROM current_user THEN
                  RAISE EXCEPTION 'run % is recorded by %: only they may write its record',
                    OLD.id, coalesce(OLD.owner, 'an unknown role') {denied};
                END IF;
              END IF;
              IF NEW.archived IS DISTINCT FROM OLD.archived AND OLD.owner IS DISTINCT FROM current_user
                 AND NOT ledger_is_admin() THEN
                RAISE EXCEPTION 'run % was recorded by %: archiving it needs admin rights (ledger db grant % --admin)',
                  OLD.id, coalesce(OLD.owner, 'an unknown role'), current_user {denied};
              END IF;
              RETURN NEW;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION ledger_stamp_annotation() RETURNS trigger
            LANGUAGE plpgsql {pinned} AS $$
            BEGIN
              NEW.author := current_user;
              NEW.created_at := extract(epoch from now());
              RETURN NEW;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION ledger_log_tag() RETURNS trigger
            LANGUAGE plpgsql {pinned} AS $$
            BEGIN
              IF TG_OP = 'INSERT' THEN
                INSERT INTO annotations (run_id, kind, value, author, created_at)
                VALUES (NEW.run_id, 'tag', NEW.tag, current_user, 0);
              ELSIF EXISTS (SELECT 1 FROM runs WHERE id = OLD.run_id) THEN  -- not a deleted run's cascade
                INSERT INTO annotations (run_id, kind, value, author, created_at)
                VALUES (OLD.run_id, 'untag', OLD.tag, current_user, 0);
              END IF;
              RETURN NULL;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION ledger_log_run_annotation() RETURNS trigger
            LANGUAGE plpgsql {pinned} AS $$
            BEGIN
              IF NEW.note IS DISTINCT FROM OLD.note THEN
                INSERT INTO annotations (run_id, kind, value, author, created_at)
                VALUES (NEW.id, 'note', NEW.note, current_user, 0);
              END IF;
              IF NEW.archived IS DISTINCT FROM OLD.archived THEN
                INSERT INTO annotations (run_id, kind, value, author, created_at)
                VALUES (NEW.id, CASE WHEN NEW.archived THEN 'archive' ELSE 'unarchive' END, NULL, current_user, 0);
              END IF;
              RETURN NULL;
            END $$""",
        "DROP TRIGGER IF EXISTS ledger_guard ON runs",
        "CREATE TRIGGER ledger_guard BEFORE INSERT OR UPDATE ON runs "
        "FOR EACH ROW EXECUTE FUNCTION ledger_guard_run()",
        "DROP TRIGGER IF EXISTS ledger_log ON runs",
        "CREATE TRIGGER ledger_log AFTER UPDATE OF note, archived ON runs "
        "FOR EACH ROW EXECUTE FUNCTION ledger_log_run_annotation()",
        "DROP TRIGGER IF EXISTS ledger_log ON tags",
        "CREATE TRIGGER ledger_log AFTER INSERT OR DELETE ON tags FOR EACH ROW EXECUTE FUNCTION ledger_log_tag()",
        "DROP TRIGGER IF EXISTS ledger_stamp ON annotations",
        "CREATE TRIGGER ledger_stamp BEFORE INSERT ON annotations "
        "FOR EACH ROW EXECUTE FUNCTION ledger_stamp_annotation()",
        # Privileges: read everything; write the record and annotations; delete (admins).
        f"GRANT USAGE ON SCHEMA {_ident(schema)} TO {reader}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {_ident(schema)} TO {reader}",
        f"GRANT INSERT, UPDATE ON runs, {', '.join(RECORD_TABLES)}, metric_chunks, reproductions TO {writer}",
        f"GRANT INSERT ON environments, annotations, {', '.join(ANNOTATION_TABLES)} TO {writer}",
        f"GRANT DELETE ON tags TO {writer}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {_ident(schema)} TO {writer}",
        f"GRANT DELETE ON runs, environments TO {admin}",
    ]
    out += _policies(
        "runs", read="true", insert="owner = current_user", update="true", delete="ledger_is_admin()"
    )
    for table in RECORD_TABLES:
        check = "ledger_run_open(run_id)"
        out += _policies(table, read="true", insert=check, update=check, delete=check)
    check = "ledger_series_open(series_id)"
    out += _policies("metric_chunks", read="true", insert=check, update=check, delete=check)
    mine = "ledger_run_mine(run_id)"
    out += _policies("reproductions", read="true", insert=mine, update=mine, delete=mine)
    return out


def _policies(table: str, *, read: str, insert: str, update: str, delete: str) -> list[str]:
    """Row-level security on `table`, forced on its owner too, one policy per command."""
    out = [f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY", f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY"]
    for command, using, check in (
        ("SELECT", read, None),
        ("INSERT", None, insert),
        ("UPDATE", update, update),
        ("DELETE", delete, None),
    ):
        name = f"ledger_{command.lower()}"
        out.append(f"DROP POLICY IF EXISTS {name} ON {table}")
        clauses = ("" if using is None else f" USING ({using})") + (
            "" if check is None else f" WITH CHECK ({check})"
        )
        out.append(f"CREATE POLICY {name} ON {table} FOR {command} TO PUBLIC{clauses}")
    return out
