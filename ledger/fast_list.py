"""`ledger list` on a SQLite ledger through the standard library's sqlite3.

The query of a listing takes SQLite 2-4 ms even over 100,000 runs; importing
SQLAlchemy and the models to build it takes 0.35-0.6 s on the machines we measure
(issue 2: a whole `ledger list` in under 0.5 s; issue 7: ten times faster than
`dvc exp show`). So a read-only listing compiles the filter here, to the same SQL
`ledger.filter_sql` has SQLAlchemy build for SQLite; `tests/integration/test_fast_list.py`
runs every filter of the language through both and requires the same runs in the
same order.

Anything that needs a write before reading (hook events to ingest, a handed-over
run to settle, a dead run to mark crashed, a schema to upgrade) or any error returns
None: the caller takes the full path, which does the writes and reports errors.

Only constants of this module are formatted into SQL; every value from a filter is
a `?` parameter.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, assert_never

from ledger import inbox, run_records
from ledger.filter_shared import glob_to_like, requires_key
from ledger.filters import And, Compare, HasKey, HasTag, Not, Or, Text
from ledger.ids import RunId, shortest_prefixes
from ledger.params import from_row
from ledger.procinfo import owners_gone
from ledger.schema import BUSY_TIMEOUT_MS, SCHEMA_HEAD
from ledger.summary import RunSummary

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ledger.filters import Expr, Field, Op, SortKey, Value
    from ledger.workspace import Workspace

_RUN_COLUMNS = {
    "id": "runs.id",
    "name": "runs.name",
    "status": "runs.status",
    "branch": "runs.branch",
    "commit": 'runs."commit"',
    "source": "runs.source",
    "host": "runs.host",
    "user": 'runs."user"',
    "exit_code": "runs.exit_code",
    "started": "runs.started_at",
    "duration": "(runs.ended_at - runs.started_at)",
}

_SUMMARY = 'SELECT runs.id, runs.name, runs.status, runs.source, runs.started_at, runs.ended_at, runs.exit_code, runs."commit", runs.branch, runs.dirty FROM runs'
_IN_IDS = "IN (SELECT value FROM json_each(?))"
"""One parameter for any number of IDs (a listing with --all may hold 100,000)."""


def list_runs(
    ws: Workspace,
    *,
    where: Expr | None,
    sort: Sequence[SortKey],
    limit: int | None,
    params: Sequence[str],
    metrics: Sequence[str],
    include_archived: bool,
) -> list[RunSummary] | None:
    """What `ledger.queries.list_runs` returns, or None when the full path must run."""
    try:
        with snapshot(ws) as conn:
            if conn is None:
                return None
            sql, args = page_sql(where, sort, limit, include_archived=include_archived)
            return summaries(conn, sql, args, params=params, metrics=metrics)
    except sqlite3.Error:
        return None


@contextlib.contextmanager
def snapshot(ws: Workspace) -> Iterator[sqlite3.Connection | None]:
    """A read transaction on the ledger file; None when a write is due first or it is no file.

    Raises:
        sqlite3.Error: the file cannot be read (the caller takes the full path).
    """
    path = _sqlite_file(ws.url)
    if (
        path is None
        or not path.is_file()
        or (ws.repo is not None and inbox.has_events(ws.repo.common_dir))
        or run_records.waiting(ws.spool_dir)
    ):
        yield None
        return
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("BEGIN")
        yield conn if _current(conn) else None
    finally:
        conn.close()


def summaries(
    conn: sqlite3.Connection, sql: str, args: list[object], *, params: Sequence[str], metrics: Sequence[str]
) -> list[RunSummary]:
    """The runs a `page_sql` statement selects, with their tags and the asked-for values."""
    rows = conn.execute(sql, args).fetchall()
    ids = json.dumps([r[0] for r in rows])
    tags = _tags(conn, ids)
    found_params = _values(conn, "SELECT run_id, key, kind, text FROM params", ids, params)
    found_metrics = _values(conn, "SELECT run_id, key, value FROM metrics", ids, metrics)
    shorts = _short_ids(conn, [r[0] for r in rows], ids)
    return [
        RunSummary(
            id=RunId(run_id),
            short_id=shorts[run_id],
            name=name,
            status=status,
            source=source,
            started_at=started_at,
            ended_at=ended_at,
            exit_code=exit_code,
            commit=commit,
            branch=branch,
            dirty=None if dirty is None else bool(dirty),
            tags=tags.get(run_id, ()),
            params={k: from_row(kind, text) for k, kind, text in found_params.get(run_id, ())},
            metrics={k: math.nan if v is None else v for k, v in found_metrics.get(run_id, ())},
        )
        for run_id, name, status, source, started_at, ended_at, exit_code, commit, branch, dirty in rows
    ]


def page_sql(
    where: Expr | None, sort: Sequence[SortKey], limit: int | None, *, include_archived: bool
) -> tuple[str, list[object]]:
    """The SELECT of one page of summaries, with its arguments in the order of their `?`."""
    joins: list[str] = []
    orders: list[str] = []
    args: list[object] = []
    for position, key in enumerate(sort):
        field = key.field
        if field.scope == "run":
            column = _RUN_COLUMNS[field.name]
        else:
            alias = f"sort_{position}"
            table, value = ("metrics", "value") if field.scope == "metrics" else ("params", "num")
            inner = where is not None and requires_key(where, field)
            joins.append(
                f"{'JOIN' if inner else 'LEFT OUTER JOIN'} {table} AS {alias} "
                f"ON {alias}.run_id = runs.id AND {alias}.key = ?"
            )
            args.append(field.name)
            column = f"{alias}.{value}"
        orders.append(f"{column} {'DESC' if key.descending else 'ASC'} NULLS LAST")
    orders += ["runs.started_at DESC", "runs.id DESC"]
    sql = " ".join([_SUMMARY, *joins]) + _where(where, args, include_archived=include_archived)
    sql += " ORDER BY " + ", ".join(orders)
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return sql, args


def count_sql(where: Expr | None, *, include_archived: bool) -> tuple[str, list[object]]:
    """The count of the runs `page_sql` pages through (without its limit)."""
    args: list[object] = []
    return "SELECT count(*) FROM runs" + _where(where, args, include_archived=include_archived), args  # noqa: S608


def _where(where: Expr | None, args: list[object], *, include_archived: bool) -> str:
    tests = []
    if where is not None:
        tests.append(_condition(where, args))
    if not include_archived:
        tests.append("runs.archived IS 0")
    return " WHERE " + " AND ".join(tests) if tests else ""


def _condition(expr: Expr, args: list[object]) -> str:
    """SQL for a filter, appending its arguments; the semantics of `filter_sql.compile_filter`."""
    match expr:
        case And(items):
            return "(" + " AND ".join(_condition(i, args) for i in items) + ")"
        case Or(items):
            return "(" + " OR ".join(_condition(i, args) for i in items) + ")"
        case Not(item):
            # SQL's NOT of NULL is NULL: a run without a branch must match `not branch:main`.
            return f"(NOT coalesce({_condition(item, args)}, 0))"
        case HasTag(tag):
            args.append(tag)
            return "EXISTS (SELECT 1 FROM tags WHERE tags.run_id = runs.id AND tags.tag = ?)"
        case HasKey(field):
            args.append(field.name)
            table = "metrics" if field.scope == "metrics" else "params"
            return f"EXISTS (SELECT 1 FROM {table} WHERE {table}.run_id = runs.id AND {table}.key = ?)"  # noqa: S608
        case Text(text):
            args.append("%" + _escape_like(text.lower()) + "%")
            return "(lower(coalesce(runs.name, '')) LIKE ? ESCAPE '/')"
        case Compare(field, op, value):
            return _compare(field, op, value, args)
    assert_never(expr)


def _compare(field: Field, op: Op, value: Value, args: list[object]) -> str:
    if field.scope == "run":
        return _test(_RUN_COLUMNS[field.name], op, value, args)
    table = "metrics" if field.scope == "metrics" else "params"
    args.append(field.name)
    test = _metric_test(op, value, args) if table == "metrics" else _param_test(op, value, args)
    return f"EXISTS (SELECT 1 FROM {table} WHERE {table}.run_id = runs.id AND {table}.key = ? AND {test})"  # noqa: S608


def _metric_test(op: Op, value: Value, args: list[object]) -> str:
    if value is None:
        return "1" if op == "!=" else "0"
    number = float(value)
    if math.isnan(number):  # NaN is stored as NULL (see recorder._db_float)
        return "metrics.value IS NULL" if op == "=" else "metrics.value IS NOT NULL"
    return _test("metrics.value", op, number, args)


def _param_test(op: Op, value: Value, args: list[object]) -> str:
    if value is None:
        return "params.kind = 'null'" if op == "=" else "params.kind != 'null'"
    if isinstance(value, bool):
        args.append("true" if value else "false")
        if op == "=":
            return "(params.kind = 'bool' AND params.text = ?)"
        return "(params.kind != 'bool' OR params.text != ?)"
    if isinstance(value, (int, float)) and op not in ("~", "!~"):
        return _test("params.num", op, float(value), args)  # only int and float params have a num
    return _test("params.text", op, str(value), args)


def _test(column: str, op: Op, value: Value, args: list[object]) -> str:
    if op in ("~", "!~"):
        args.append(glob_to_like(str(value)))
        like = f"lower({column}) LIKE lower(?) ESCAPE '\\'"
        return like if op == "~" else f"({column} IS NULL OR NOT ({like}))"
    if value is None:
        return f"{column} IS NULL" if op == "=" else f"{column} IS NOT NULL"
    args.append(value)
    if op == "!=":
        return f"({column} != ? OR {column} IS NULL)"
    return f"{column} {op} ?"


def _escape_like(text: str) -> str:
    """As SQLAlchemy's `contains(..., autoescape=True)`: `/` escapes itself, `%` and `_`."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _tags(conn: sqlite3.Connection, ids: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    sql = f"SELECT run_id, tag FROM tags WHERE run_id {_IN_IDS} ORDER BY tag"  # noqa: S608
    for run_id, tag in conn.execute(sql, [ids]):
        found.setdefault(run_id, []).append(tag)
    return {k: tuple(v) for k, v in found.items()}


def _values(
    conn: sqlite3.Connection, select: str, ids: str, keys: Sequence[str]
) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of params or metrics of the page, by run: every key (`"*"`) or the named ones."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    if not keys:
        return found
    sql, args = f"{select} WHERE run_id {_IN_IDS}", [ids]
    if "*" not in keys:
        sql += " AND key IN (SELECT value FROM json_each(?))"
        args.append(json.dumps(list(keys)))
    for run_id, *rest in conn.execute(sql, args):
        found.setdefault(run_id, []).append(tuple(rest))
    return found


def _short_ids(conn: sqlite3.Connection, order: list[str], ids: str) -> dict[str, str]:
    sql = (
        "SELECT runs.id, (SELECT max(o.id) FROM runs AS o WHERE o.id < runs.id), "  # noqa: S608
        f"(SELECT min(o.id) FROM runs AS o WHERE o.id > runs.id) FROM runs WHERE runs.id {_IN_IDS}"
    )
    neighbours = {run_id: (prev, nxt) for run_id, prev, nxt in conn.execute(sql, [ids])}
    return shortest_prefixes(order, neighbours)


def _current(conn: sqlite3.Connection) -> bool:
    """Whether the schema is this version's and no run needs marking crashed first."""
    try:
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or (None,)
    except sqlite3.OperationalError:
        return False  # no such table: a new ledger, which the full path creates
    if version != SCHEMA_HEAD:
        return False
    running = conn.execute(
        "SELECT id, host, pid, pid_start, heartbeat_at FROM runs WHERE status = 'running'"
    ).fetchall()
    return not owners_gone(running)


def _sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///PATH` URL; None for anything else (options, servers)."""
    if not url.startswith("sqlite:///") or "?" in url:
        return None
    return Path(url.removeprefix("sqlite:///"))
