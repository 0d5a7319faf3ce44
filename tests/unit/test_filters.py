"""Tests for the filter language: parsing, canonical printing, sort keys, errors."""

from __future__ import annotations

import contextlib
import math
import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from ledger.core.errors import FilterSyntaxError
from ledger.core.filters import (
    And,
    Compare,
    Expr,
    Field,
    HasKey,
    HasTag,
    Not,
    Or,
    SortKey,
    Text,
    fields_used,
    parse_filter,
    parse_sort,
    to_text,
)

ACC = Field("metrics", "acc")
LR = Field("params", "lr")


def run(name: str) -> Field:
    return Field("run", name)


def parse(text: str) -> Expr:
    expr = parse_filter(text)
    assert expr is not None
    return expr


def error(text: str) -> str:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "metrics.acc > 0.9 and params.lr <= 0.01 and tag:baseline and branch:main",
            And(
                (
                    Compare(ACC, ">", 0.9),
                    Compare(LR, "<=", 0.01),
                    HasTag("baseline"),
                    Compare(run("branch"), "=", "main"),
                )
            ),
        ),
        (
            "tag:baseline status:finished",
            And((HasTag("baseline"), Compare(run("status"), "=", "finished"))),
        ),
        ("m.acc >= 1", Compare(ACC, ">=", 1)),
        ("metric.acc != 1", Compare(ACC, "!=", 1)),
        ("p.lr == 0.1", Compare(LR, "=", 0.1)),
        ("param.lr < 1e-3", Compare(LR, "<", 0.001)),
        ("Params.lr=2E+2", Compare(LR, "=", 200.0)),
        ("metrics.train/loss < 1", Compare(Field("metrics", "train/loss"), "<", 1)),
        ("metrics.a.b-c_d > 0", Compare(Field("metrics", "a.b-c_d"), ">", 0)),
        ('metrics."val loss" < 1', Compare(Field("metrics", "val loss"), "<", 1)),
        ("params.`a b` = x", Compare(Field("params", "a b"), "=", "x")),
        ('params."a:b" = x', Compare(Field("params", "a:b"), "=", "x")),
        ("params.opt = adam", Compare(Field("params", "opt"), "=", "adam")),
        (
            "params.branch = feature/x",
            Compare(Field("params", "branch"), "=", "feature/x"),
        ),
        ("params.v = 0.9.1", Compare(Field("params", "v"), "=", "0.9.1")),
        ("params.n = -3", Compare(Field("params", "n"), "=", -3)),
        ("params.flag = TRUE", Compare(Field("params", "flag"), "=", True)),
        ("params.flag != false", Compare(Field("params", "flag"), "!=", False)),
        ("params.x = null", Compare(Field("params", "x"), "=", None)),
        ("params.x = None", Compare(Field("params", "x"), "=", None)),
        ("params.x = 'null'", Compare(Field("params", "x"), "=", "null")),
        ('params.x = "a \\"b\\"\\n"', Compare(Field("params", "x"), "=", 'a "b"\n')),
        ("params.x = 'it\\'s'", Compare(Field("params", "x"), "=", "it's")),
        ("params.x = '12'", Compare(Field("params", "x"), "=", "12")),
        ("metrics.acc = inf", Compare(ACC, "=", math.inf)),
        ("metrics.acc > -inf", Compare(ACC, ">", -math.inf)),
        ("params.opt ~ adam*", Compare(Field("params", "opt"), "~", "adam*")),
        ("params.opt !~ 'a?m'", Compare(Field("params", "opt"), "!~", "a?m")),
        ("params.n ~ 5", Compare(Field("params", "n"), "~", "5")),
        ("params.started = 3", Compare(Field("params", "started"), "=", 3)),
        ("name~bert*", Compare(run("name"), "~", "bert*")),
        ("Status = FAILED", Compare(run("status"), "=", "failed")),
        ("branch = 123", Compare(run("branch"), "=", "123")),
        ("branch = true", Compare(run("branch"), "=", "true")),
        ("branch = null", Compare(run("branch"), "=", None)),
        ("exit_code != 0", Compare(run("exit_code"), "!=", 0)),
        ("exit_code = -9", Compare(run("exit_code"), "=", -9)),
        ("duration > 90", Compare(run("duration"), ">", 90.0)),
        ("duration > 90s", Compare(run("duration"), ">", 90.0)),
        ("duration < 5m", Compare(run("duration"), "<", 300.0)),
        ("duration <= 2h", Compare(run("duration"), "<=", 7200.0)),
        ("duration <= 1.5d", Compare(run("duration"), "<=", 129600.0)),
        ("duration > 250ms", Compare(run("duration"), ">", 0.25)),
        ("started >= 2024-01-01", Compare(run("started"), ">=", 1704067200.0)),
        ("started < 2024-01-01T10:00:00", Compare(run("started"), "<", 1704103200.0)),
        ("started < 2024-01-01T10:00:00Z", Compare(run("started"), "<", 1704103200.0)),
        (
            "started < 2024-01-01T12:00:00+02:00",
            Compare(run("started"), "<", 1704103200.0),
        ),
        ('started < "2024-01-01 10:00"', Compare(run("started"), "<", 1704103200.0)),
        ("tag:baseline", HasTag("baseline")),
        ('tag:"two words"', HasTag("two words")),
        ("TAG:Mixed", HasTag("Mixed")),
        ("branch:feature/x", Compare(run("branch"), "=", "feature/x")),
        ("branch:release-*", Compare(run("branch"), "~", "release-*")),
        ("status:failed", Compare(run("status"), "=", "failed")),
        ("name:bert*", Compare(run("name"), "~", "bert*")),
        ("name:bert", Compare(run("name"), "=", "bert")),
        ("commit:abc12", Compare(run("commit"), "~", "abc12*")),
        ("id:0190a", Compare(run("id"), "~", "0190a*")),
        ("source:commit", Compare(run("source"), "=", "commit")),
        ("host:gpu-01", Compare(run("host"), "=", "gpu-01")),
        ("user:alice", Compare(run("user"), "=", "alice")),
        ("exit_code:1", Compare(run("exit_code"), "=", 1)),
        ("has:metrics.acc", HasKey(ACC)),
        ("has:p.lr", HasKey(LR)),
        ('has:metrics."val loss"', HasKey(Field("metrics", "val loss"))),
        ("bert", Text("bert")),
        ("metrics.acc", Text("metrics.acc")),
        ('"not"', Text("not")),
        ("'two words'", Text("two words")),
    ],
)
def test_parse_filter_builds_ast(text: str, expected: Expr) -> None:
    assert parse(text) == expected


def test_parse_filter_keeps_nan() -> None:
    expr = parse("metrics.acc = NaN")
    assert isinstance(expr, Compare)
    assert isinstance(expr.value, float)
    assert math.isnan(expr.value)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"], ids=["empty", "spaces", "whitespace"])
def test_parse_filter_blank_is_none(text: str) -> None:
    assert parse_filter(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a or b and c", Or((Text("a"), And((Text("b"), Text("c")))))),
        ("a and b or c", Or((And((Text("a"), Text("b"))), Text("c")))),
        ("not a and b", And((Not(Text("a")), Text("b")))),
        ("not (a and b)", Not(And((Text("a"), Text("b"))))),
        ("a b or c", Or((And((Text("a"), Text("b"))), Text("c")))),
        ("a || b && !c", Or((Text("a"), And((Text("b"), Not(Text("c"))))))),
        ("a AND b Or NOT c", Or((And((Text("a"), Text("b"))), Not(Text("c"))))),
        ("(a and b) and (c and d)", And((Text("a"), Text("b"), Text("c"), Text("d")))),
        ("a or (b or (c or d))", Or((Text("a"), Text("b"), Text("c"), Text("d")))),
        ("(a or b) c", And((Or((Text("a"), Text("b"))), Text("c")))),
        ("((a))", Text("a")),
        ("not not a", Text("a")),
        ("! ! ! a", Not(Text("a"))),
        ("!tag:x", Not(HasTag("x"))),
        ("not metrics.acc > 0.9", Not(Compare(ACC, ">", 0.9))),
    ],
)
def test_parse_filter_precedence_and_flattening(text: str, expected: Expr) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (Compare(ACC, ">", 0.9), "metrics.acc > 0.9"),
        (Compare(Field("metrics", "val loss"), "<", 1), 'metrics."val loss" < 1'),
        (Compare(run("started"), ">=", 1704067200.0), "started >= 2024-01-01"),
        (
            Compare(run("started"), "<", 1704103200.5),
            "started < 2024-01-01T10:00:00.500000Z",
        ),
        (Compare(Field("params", "x"), "=", "true"), 'params.x = "true"'),
        (Compare(Field("params", "x"), "=", 'a"b'), 'params.x = "a\\"b"'),
        (Compare(Field("params", "x"), "=", None), "params.x = null"),
        (HasTag("two words"), 'tag:"two words"'),
        (Text("and"), '"and"'),
        (Text("a:b"), '"a:b"'),
        (Not(Or((Text("a"), Text("b")))), "not (a or b)"),
        (And((Or((Text("a"), Text("b"))), Text("c"))), "(a or b) and c"),
        (Or((And((Text("a"), Text("b"))), Text("c"))), "a and b or c"),
    ],
)
def test_to_text_is_canonical(expr: Expr, text: str) -> None:
    assert to_text(expr) == text


ROUND_TRIP = [
    "metrics.acc > 0.9 and params.lr <= 0.01 and tag:baseline and branch:main",
    "tag:baseline status:finished",
    "a or b and not (c or d) e",
    "not (a and b) or not c",
    'metrics."val loss" < 1e-3 or params.`odd key!` != "x y"',
    "params.s = 'quote \" and \\\\ backslash\\n'",
    "params.x = 1e400 or params.x = -inf or metrics.y = nan",
    "params.x = 12345678901234567890123 and params.y = -0.0",
    "params.x = true and params.y = false and params.z = null",
    "params.v = 0.9.1 and params.w = '1.5' and params.n ~ 5",
    "name:bert* commit:abc12 id:0190 source:commit host:h user:u exit_code:0",
    "duration > 1.5h and duration < 250ms",
    "started >= 2024-02-29T23:59:59.999999+05:30",
    "started < 0001-01-01 or started > 9999-12-31T23:59:59.999",
    'has:metrics.acc and not has:params."a b"',
    '"and" or "or" or "not" or "a:b" or "" or nan or "x y"',
    "branch = null and status != crashed",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_to_text_round_trips(text: str) -> None:
    expr = parse(text)
    # repr, not ==, so that NaN values compare equal and 1 vs 1.0 vs True differ.
    assert repr(parse(to_text(expr))) == repr(expr)
    assert to_text(parse(to_text(expr))) == to_text(expr)


def test_started_round_trips_at_every_precision() -> None:
    rng, epoch, parsed = random.Random(1), datetime(1970, 1, 1, tzinfo=UTC), 0
    for _ in range(5000):
        micros = rng.randrange(-62_135_596_800 * 10**6, 253_402_300_799 * 10**6)
        moment = epoch + timedelta(microseconds=micros)
        text = f"started > {moment.isoformat(timespec='microseconds')}"
        # Near the end of 9999 a float timestamp may round into year 10000: refused.
        with contextlib.suppress(FilterSyntaxError):
            expr = parse(text)
            assert parse(to_text(expr)) == expr, text
            parsed += 1
    assert parsed > 4900


def test_fields_used_lists_distinct_metrics_and_params_in_order() -> None:
    expr = parse(
        "metrics.acc > 0.9 and (params.lr < 1 or not has:metrics.acc) and status:failed tag:x m.loss < 2"
    )
    assert fields_used(expr) == (ACC, LR, Field("metrics", "loss"))


def test_fields_used_ignores_run_attributes() -> None:
    assert fields_used(parse("status:failed and name ~ b* and duration > 1")) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc", SortKey(ACC, descending=False)),
        ("-metrics.acc", SortKey(ACC, descending=True)),
        ("metrics.acc:desc", SortKey(ACC, descending=True)),
        ("metrics.acc:ASC", SortKey(ACC, descending=False)),
        (" - m.acc ", SortKey(ACC, descending=True)),
        ('-metrics."val loss"', SortKey(Field("metrics", "val loss"), descending=True)),
        ("started", SortKey(run("started"))),
        ("-duration", SortKey(run("duration"), descending=True)),
        ("name:desc", SortKey(run("name"), descending=True)),
    ],
)
def test_parse_sort(text: str, expected: SortKey) -> None:
    assert parse_sort(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "sort: expected a field at column 1"),
        ("stauts", "unknown field 'stauts' (did you mean 'status'?)"),
        ("-x:asc", "give the direction once"),
        ("metrics.acc extra", "unexpected 'extra' at column 13"),
        ("tag", "unknown field 'tag'"),
    ],
)
def test_parse_sort_errors(text: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError, match=re.escape(message)):
        parse_sort(text)


def test_error_points_at_missing_value() -> None:
    assert error("metrics.acc > ") == "filter: expected a value after '>' at column 15: metrics.acc > "


def test_error_suggests_close_field() -> None:
    message = error("stauts = failed")
    assert message.startswith("filter: unknown field 'stauts' (did you mean 'status'?) at column 1")
    assert "exit_code, duration, started" in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "acc > 1",
            "unknown field 'acc' (did you mean 'metrics.acc' or 'params.acc'?)",
        ),
        ("stauts:failed", "unknown term 'stauts:' (did you mean 'status:'?)"),
        (
            "status = faild",
            "unknown status 'faild' (did you mean 'failed'?) at column 10",
        ),
        ('params.x = "abc', 'unterminated " string at column 12'),
        ("a and b)", "unmatched ')' at column 8"),
        (") a", "unmatched ')' at column 1"),
        ("(a or b", "missing ')' at column 8"),
        ("a and", "expected a term after 'and' at column 6"),
        ("a or or b", "expected a term after 'or', got 'or' at column 6"),
        ("()", "expected a term after '(', got ')' at column 2"),
        ("a & b", "unexpected '&', not '&&' at column 3"),
        ("= 3", "expected a term at the start, got '=' at column 1"),
        ("'x' = 3", "unexpected '=' at column 5"),
        ("metrics.acc > and", "expected a value after '>' at column 15"),
        ("metrics.acc = adam", "metrics are numbers, got 'adam'"),
        ("metrics.acc = null", "metrics are numbers, got 'null'"),
        ("metrics.acc ~ 0.9*", "'~' matches text but metrics.acc is a number"),
        ("duration ~ 1*", "'~' matches text but duration is a number"),
        ("params.x < true", "'true' only compares with '=' or '!='"),
        ("branch > null", "'null' only compares with '=' or '!='"),
        ("exit_code = 1.5", "exit_code takes a whole number, got '1.5'"),
        ("duration > 5min", "duration takes seconds or 90s/5m/2h, got '5min'"),
        ("duration > 5y", "duration takes seconds or 90s/5m/2h, got '5y'"),
        ("duration > 1e400", "duration takes seconds"),
        (
            "started > yesterday",
            "started takes an ISO date or datetime, got 'yesterday'",
        ),
        (
            "started > 0001-01-01T00:00:00+14:00",
            "started takes an ISO date or datetime",
        ),
        (
            "started > 9999-12-31T23:59:59.999999",
            "started takes an ISO date or datetime",
        ),
        ("metrics.a*b > 1", 'quote this key: metrics."a*b"'),
        ("metrics. > 1", "expected a key after 'metrics.' at column 9"),
        ('metrics."" > 1', "expected a key after 'metrics.'"),
        ('metrics."a" b', "expected an operator at column 13"),
        ("host:", "expected a value after 'host:' at column 6"),
        ('tag:""', "expected a value after 'tag:'"),
        ("has:status", "'has:' takes metrics.<key> or params.<key>"),
        ("has:acc", "unknown field 'acc'"),
        ("tag:x = 1", "unknown field 'tag:x'"),
        ("(" * 65 + "a" + ")" * 65, "more than 64 nested parentheses at column 65"),
    ],
)
def test_errors_name_the_problem(text: str, message: str) -> None:
    assert message in error(text)


def test_error_is_one_line_even_for_multiline_input() -> None:
    message = error("a and\n(b or\tc")
    assert "\n" not in message
    assert message.endswith("missing ')' at column 14: a and (b or c")


def test_long_not_chain_collapses_without_recursion() -> None:
    assert parse("not " * 5001 + "a") == Not(Text("a"))


GARBAGE = [
    "(",
    ")",
    "((",
    "))",
    "!",
    "!!",
    "!=",
    "!~",
    "~",
    "&&",
    "||",
    "&",
    "|",
    "and",
    "or or",
    "not not",
    ":",
    "::",
    "tag:",
    "has:",
    "has:metrics.",
    'has:"metrics.acc"',
    "metrics.",
    "metrics.acc",
    "metrics.acc >",
    "metrics.acc > >",
    "metrics.acc >>= 1",
    'metrics."',
    'metrics."a',
    "metrics.'a'.b > 1",
    'tag:a"b"',
    'tag:a."b"',
    "'",
    '"',
    "`",
    '"\\',
    "'\\'",
    "\\",
    "\x00",
    "\u2028",
    "\ud800",
    "🙂 > 1",
    "started > 2024-13-45",
    "started > 99999-01-01",
    "started > 9999-12-31T23:59:59-14:00",
    "started = null",
    "exit_code = " + "9" * 5000,
    "params.x = " + "9" * 5000,
    "duration > " + "9" * 400 + "h",
    "status ~ fail*",
    "status:fail*",
    "commit:*",
    "id:?",
    "a = = b",
    "name = (",
    "p.x = a:b:c",
    "-metrics.acc",
    "m.acc > 0.9 ) (",
    "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((",
    "a" * 10_000,
]


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_raises_only_filter_syntax_error(text: str) -> None:
    _parse_or_refuse(text)


def test_random_input_raises_only_filter_syntax_error_and_round_trips() -> None:
    rng = random.Random(20240501)
    atoms = [
        "metrics.acc", "m.", "params.lr", "p.`k`", "status", "name", "duration",
        "started", "exit_code", "tag:", "has:", "commit:", "id:", "and", "or", "not",
        "&&", "||", "!", "(", ")", "=", "==", "!=", "<", "<=", ">", ">=", "~", "!~",
        "0.9", "-1", "1e3", "nan", "-inf", "true", "null", "5m", "2024-01-01",
        "T10:00", "failed", "bert*", '"', "'", "`", '"a b"', "\\", ":", ".", "-",
        "*", "?", " ", " ", "\t", "&", "|", "x", "é",
    ]  # fmt: skip
    parsed = 0
    for _ in range(5000):
        pieces = rng.choices(atoms, k=rng.randint(1, 12))
        text = "".join(piece if rng.random() < 0.5 else piece + " " for piece in pieces)
        expr = _parse_or_refuse(text)
        if expr is not None:
            parsed += 1
            assert repr(parse(to_text(expr))) == repr(expr), text
            fields_used(expr)
        with contextlib.suppress(FilterSyntaxError):
            parse_sort(text)
    assert parsed > 500  # the generator must reach past the error paths


def test_random_characters_raise_only_filter_syntax_error() -> None:
    rng = random.Random(7)
    alphabet = "ab.:=!<>~&|()\"'`\\ *?-_/0123456789eE+\u00e9\t\n"
    for _ in range(5000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 20)))
        if (expr := _parse_or_refuse(text)) is not None:
            assert repr(parse(to_text(expr))) == repr(expr), text


def _parse_or_refuse(text: str) -> Expr | None:
    try:
        return parse_filter(text)
    except FilterSyntaxError as refusal:
        message = str(refusal)
    assert "\n" not in message
    assert message.startswith("filter: ")
    return None
