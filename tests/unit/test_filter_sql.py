"""The filter compiler: which filters require a metric or param key (the sort join may then
be an inner one), and the SQL text it writes for each database."""

from __future__ import annotations

import pytest

from ledger.core.errors import FilterSyntaxError
from ledger.core.filters import Field, parse_filter, requires_key
from ledger.read.filter_sql import where_sql
from ledger.read.sql_dialect import POSTGRESQL, SQLITE, Dialect
from tests.faults.filter_grammar import FilterGrammar

SEED = 2718


@pytest.mark.parametrize(
    ("text", "required"),
    [
        ("metrics.acc > 0.5", True),
        ("metrics.acc != 0.5", True),
        ("has:metrics.acc", True),
        ("params.optimizer = adam and metrics.acc > 0.5", True),
        ("metrics.acc > 0.9 or metrics.acc < 0.1", True),
        ("metrics.acc > 0.9 or tag:best", False),
        ("not metrics.acc > 0.5", False),
        ("metrics.loss > 0.5", False),
        ("params.acc > 0.5", False),
        ("name ~ acc*", False),
    ],
    ids=["compare", "not-equal", "has", "and", "or-both", "or-one", "not", "other-key", "param-scope", "run"],
)
def test_requires_key(text: str, required: bool) -> None:
    where = parse_filter(text)
    assert where is not None

    assert requires_key(where, Field("metrics", "acc")) is required


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL], ids=["sqlite", "postgresql"])
def test_every_value_goes_in_as_a_parameter(dialect: Dialect) -> None:
    texts = [t for t in FilterGrammar(SEED).filters(300) if _parses(t)]
    texts += ['name = "x\' OR 1=1 --"', 'tag:"a\'); DROP TABLE runs; --"', 'params."k\'ey" = 1']
    for text in texts:
        where = parse_filter(text)
        assert where is not None
        args, bind = dialect.binder()

        sql = where_sql(where, dialect, bind)

        assert sql.count(dialect.placeholder) == len(args), text
        for injected in ("--", "1=1", "k'ey"):
            assert injected not in sql, text


def test_the_dialects_differ_only_where_the_databases_do() -> None:
    where = parse_filter("name ~ Res* and not user < bob")
    assert where is not None
    texts = {}
    for dialect in (SQLITE, POSTGRESQL):
        args, bind = dialect.binder()
        texts[dialect.name] = (where_sql(where, dialect, bind), args)

    (lite, lite_args), (pg, pg_args) = texts["sqlite"], texts["postgresql"]
    assert lite_args == pg_args == ["res%", "bob"]
    assert "lower(runs.name) LIKE ?" in lite
    assert "COLLATE" not in lite
    assert "translate(runs.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') LIKE %s" in pg
    assert '(runs."user") COLLATE "C" < %s' in pg
    assert lite.replace("?", "%s").replace(", 0)", ", false)") == pg.replace(
        "translate(runs.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')", "lower(runs.name)"
    ).replace('(runs."user") COLLATE "C"', 'runs."user"')


def _parses(text: str) -> bool:
    try:
        parse_filter(text)
    except FilterSyntaxError:
        return False
    return True
