"""A page of runs as summaries: one SQL text and one row mapping for every read path.

The caller brings a `Dialect` and `execute`, which runs SQL text with positional
arguments on its connection: the standard library's sqlite3 (`ledger.read.sqlite_snapshot`)
or SQLAlchemy's driver connection (`ledger.read.queries`, `ledger.read.windows`).
Everything between the filter and the `RunSummary` is here, once.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from ledger.core.ids import RunId, shortest_prefixes
from ledger.core.param_values import from_row
from ledger.core.summary import RunSummary
from ledger.read.filter_sql import order_sql, where_sql

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from ledger.core.filters import Expr, SortKey
    from ledger.read.sql_dialect import Dialect

    Execute = Callable[[str, Sequence[object]], Iterable[Sequence[Any]]]

_PAGE = (
    'SELECT runs.id, runs.name, runs.status, runs.source, runs.started_at, runs.ended_at, runs.exit_code, runs."commit", '
    "runs.branch, runs.dirty, runs.run_folders, runs.archived FROM runs"
)
"""The columns of a `RunSummary`, and whether the run is archived."""


def read_page(
    execute: Execute,
    dialect: Dialect,
    *,
    where: Expr | None,
    sort: Sequence[SortKey],
    limit: int | None,
    offset: int = 0,
    params: Sequence[str],
    metrics: Sequence[str],
    include_archived: bool,
) -> tuple[list[RunSummary], frozenset[str]]:
    """One page of runs, filtered and sorted in the database, and which of them are archived.

    `params` and `metrics` name the values to carry on each summary; `"*"` means all.
    """
    args, bind = dialect.binder()
    joins, orders = order_sql(sort, where, dialect, bind)
    sql = " ".join([_PAGE, *joins]) + _where(where, dialect, bind, include_archived=include_archived)
    sql += " ORDER BY " + ", ".join(orders)
    if limit is not None:
        sql += f" LIMIT {bind(limit)}"
    elif offset:
        sql += f" {dialect.no_limit}"
    if offset:
        sql += f" OFFSET {bind(offset)}"
    rows = list(execute(sql, args))
    if not rows:
        return [], frozenset()
    ids = [row[0] for row in rows]
    tags = tags_of(execute, dialect, ids)
    found_params = _values(execute, dialect, "SELECT run_id, key, kind, text FROM params", ids, params)
    found_metrics = _values(execute, dialect, "SELECT run_id, key, value FROM metrics", ids, metrics)
    shorts = short_ids(execute, dialect, ids)
    runs = [
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
            run_folders=tuple(json.loads(folders)) if folders else (),
        )
        for run_id, name, status, source, started_at, ended_at, exit_code, commit, branch, dirty, folders, _ in rows
    ]
    return runs, frozenset(row[0] for row in rows if row[-1])


def count_sql(where: Expr | None, dialect: Dialect, *, include_archived: bool) -> tuple[str, list[object]]:
    """The count of the runs `read_page` pages through (without its limit)."""
    args, bind = dialect.binder()
    return "SELECT count(*) FROM runs" + _where(where, dialect, bind, include_archived=include_archived), args  # noqa: S608


def _where(
    where: Expr | None, dialect: Dialect, bind: Callable[[object], str], *, include_archived: bool
) -> str:
    tests = []
    if where is not None:
        tests.append(where_sql(where, dialect, bind))
    if not include_archived:
        tests.append(f"runs.archived IS {dialect.false}")
    return " WHERE " + " AND ".join(tests) if tests else ""


def tags_of(execute: Execute, dialect: Dialect, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The tags of each run; tags, like keys, in code point order whatever the server's collation."""
    found: dict[str, list[str]] = {}
    order = dialect.bytewise.format("tag")
    sql = f"SELECT run_id, tag FROM tags WHERE run_id {dialect.in_ids} ORDER BY {order}"  # noqa: S608
    for run_id, tag in execute(sql, [dialect.id_list(ids)]):
        found.setdefault(run_id, []).append(tag)
    return {k: tuple(v) for k, v in found.items()}


def _values(
    execute: Execute, dialect: Dialect, select: str, ids: Sequence[str], keys: Sequence[str]
) -> dict[str, list[tuple[Any, ...]]]:
    """Rows of params or metrics of the page, by run: every key (`"*"`) or the named ones."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    if not keys:
        return found
    sql, args = f"{select} WHERE run_id {dialect.in_ids}", [dialect.id_list(ids)]
    if "*" not in keys:
        sql += f" AND key {dialect.in_ids}"
        args.append(dialect.id_list(keys))
    for run_id, *rest in execute(sql + " ORDER BY " + dialect.bytewise.format("key"), args):
        found.setdefault(run_id, []).append(tuple(rest))
    return found


def short_ids(execute: Execute, dialect: Dialect, ids: list[str]) -> dict[str, str]:
    """The shortest unique prefix of each ID among all runs (git-style abbreviation).

    Only the two IDs sorting next to an ID can share a longer prefix with it, so two
    indexed look-ups per ID find its shortest unique prefix, whatever the ledger's size."""
    sql = (
        "SELECT runs.id, (SELECT max(o.id) FROM runs AS o WHERE o.id < runs.id), "  # noqa: S608
        f"(SELECT min(o.id) FROM runs AS o WHERE o.id > runs.id) FROM runs WHERE runs.id {dialect.in_ids}"
    )
    neighbours = {run_id: (prev, nxt) for run_id, prev, nxt in execute(sql, [dialect.id_list(ids)])}
    return shortest_prefixes(ids, neighbours)
