"""Read filter and sort text into the AST: a tokenizer and a recursive-descent parser."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.core.errors import FilterSyntaxError
from ledger.core.filters.nodes import (
    RUN_FIELDS,
    STATUSES,
    And,
    Compare,
    Expr,
    Field,
    HasKey,
    HasTag,
    Not,
    Op,
    Or,
    Scope,
    SortKey,
    Text,
    Value,
)
from ledger.core.filters.printer import format_field
from ledger.core.filters.words import KEY_RE, KEYWORDS, NUMBER, literal, quote

_SCOPES: dict[str, Scope] = {
    "metrics": "metrics", "metric": "metrics", "m": "metrics",
    "params": "params", "param": "params", "p": "params",
}  # fmt: skip
_OPS: dict[str, Op] = {
    "=": "=", "==": "=", "!=": "!=", "<": "<", "<=": "<=",
    ">": ">", ">=": ">=", "~": "~", "!~": "!~",
}  # fmt: skip
_SYMBOLS = {"&&": "and", "||": "or", "!": "not", "(": "(", ")": ")"}
_TERMS = (
    "tag", "has", "status", "name", "branch", "commit",
    "source", "host", "user", "id", "exit_code",
)  # fmt: skip
_NUMERIC_RUN_FIELDS = ("exit_code", "duration", "started")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_MAX_DEPTH = 64
"""Parenthesis nesting limit, so that no input can exhaust the Python stack."""
MAX_TERMS = 10_000
"""Terms in one filter: each is a bound value or two in SQL, and SQLite takes 32,766."""
MAX_WORD = 10_000
"""Characters in one word or quoted string: a glob of them stays under SQLite's
50,000-byte LIKE pattern limit however it is escaped and encoded."""
_SHOWN = 60
"""Characters of a long filter an error line shows on each side of the column."""
_UNUSABLE_RE = re.compile(r"[\x00\ud800-\udfff]")
"""NUL, which PostgreSQL text cannot hold, and the lone surrogates of undecodable bytes."""
_FIELDS_HINT = "fields: metrics.<key>, params.<key>, " + ", ".join(RUN_FIELDS)

_DURATION_RE = re.compile(rf"({NUMBER})(ms|s|m|h|d)?", re.IGNORECASE)
_TOKEN_RE = re.compile(r"\s+|(==|!=|<=|>=|!~|&&|\|\||[=<>~!()])|([\"'`])|[^\s()\"'`=!<>~&|]+")
_STRING_RES = {q: re.compile(rf"{q}((?:[^{q}\\]|\\.)*){q}", re.DOTALL) for q in "\"'`"}
_DIRECTION_RE = re.compile(r":(asc|desc)\s*$", re.IGNORECASE)


def parse_filter(text: str) -> Expr | None:
    """Parse a filter; `None` for a blank one, which matches every run.

    Raises:
        FilterSyntaxError: one line naming the problem and its column. Nothing else
            escapes, whatever the input: the TUI parses on every keystroke.
    """
    return _Parser(text).parse()


def parse_sort(text: str) -> SortKey:
    """Parse `metrics.acc` (ascending), `-metrics.acc` or `metrics.acc:desc`."""
    # Blank the direction out rather than slice it off, so error columns stay right.
    masked, dash = text, None
    if direction := _DIRECTION_RE.search(text):
        masked = text[: direction.start()] + " " * len(direction[0])
    if (rest := masked.lstrip()).startswith("-"):
        dash = len(masked) - len(rest)
        masked = f"{masked[:dash]} {masked[dash + 1 :]}"
    parser = _Parser(masked, label="sort", shown=text)
    if dash is not None and direction:
        raise parser.fail("give the direction once, as '-' or as ':asc'/':desc'", dash)
    token = parser.take()
    if token.kind != "word":
        raise parser.fail("expected a field", token.pos, hint=_FIELDS_HINT)
    field = parser.field(token, parser.glued_string(token))
    if (extra := parser.peek()).kind != "end":
        raise parser.fail(f"unexpected {extra.text!r}", extra.pos)
    descending = direction[1].lower() == "desc" if direction else dash is not None
    return SortKey(field, descending=descending)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    """word, string, op, and, or, not, (, ) or end."""
    text: str
    """The source text; for a string, its contents with escapes decoded."""
    pos: int
    end: int


class _Parser:
    """A tokenizer plus recursive descent: or > and > not > term, loosest first."""

    def __init__(self, text: str, *, label: str = "filter", shown: str = "") -> None:
        self.text, self.label, self.shown = text, label, shown or text
        self.index = self.depth = self.terms = 0
        self.tokens = self._tokenize()

    def fail(self, message: str, pos: int, *, hint: str = "") -> FilterSyntaxError:
        # Whitespace shown as spaces: the message stays one line, columns still match.
        shown = "".join(" " if char.isspace() else char for char in self.shown)
        shown = _UNUSABLE_RE.sub("\N{REPLACEMENT CHARACTER}", shown)  # printable, encodable
        if len(shown) > 4 * _SHOWN:  # a long filter: the part around the column
            start, end = max(0, pos - _SHOWN), pos + _SHOWN
            shown = ("…" if start else "") + shown[start:end] + ("…" if end < len(shown) else "")
        message = f"{self.label}: {message} at column {pos + 1}: {shown}"
        return FilterSyntaxError(message, hint=hint or None)

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        # Never called once the end token is taken: whoever takes it raises.
        self.index += 1
        return self.tokens[self.index - 1]

    def parse(self) -> Expr | None:
        if self.peek().kind == "end":
            return None
        expr = self._or()
        if (token := self.peek()).kind != "end":
            unmatched = token.kind == ")"
            what = "unmatched ')'" if unmatched else f"unexpected {token.text!r}"
            raise self.fail(what, token.pos)
        return expr

    def glued_string(self, word: _Token) -> str | None:
        """Take a string glued to `metrics.` or `tag:`, as in `metrics."val loss"`."""
        after = self.peek()
        if after.kind == "string" and after.pos == word.end and word.text[-1] in ".:":
            return self.take().text
        return None

    def field(self, word: _Token, quoted: str | None, *, at: int = 0) -> Field:
        """Resolve `word[at:]` (plus a glued quoted key) to a field."""
        name, pos = word.text[at:], word.pos + at
        head, dot, key = name.partition(".")
        scope = _SCOPES.get(head.lower()) if dot else None
        if scope is None:
            if quoted is None and name.lower() in RUN_FIELDS:
                return Field("run", name.lower())
            guess = _did_you_mean(name.lower(), RUN_FIELDS)
            if not guess and KEY_RE.fullmatch(name):
                guess = f" (did you mean 'metrics.{name}' or 'params.{name}'?)"
            raise self.fail(f"unknown field {name!r}{guess}", pos, hint=_FIELDS_HINT)
        if quoted is not None and key:
            raise self.fail(f"unexpected quoted text after {name!r}", word.end)
        key = key if quoted is None else quoted
        if not key:
            raise self.fail(f"expected a key after '{head}.'", word.end)
        if quoted is None and not KEY_RE.fullmatch(key):
            raise self.fail(f"quote this key: {head}.{quote(key)}", pos)
        return Field(scope, key)

    def _tokenize(self) -> list[_Token]:
        tokens: list[_Token] = []
        pos, text = 0, self.text
        if unusable := _UNUSABLE_RE.search(text):
            char = f"U+{ord(unusable[0]):04X}"
            raise self.fail(f"character {char} cannot be stored or matched", unusable.start())
        while pos < len(text):
            match = _TOKEN_RE.match(text, pos)
            if match is None:  # only a lone '&' or '|' gets here
                raise self.fail(f"unexpected {text[pos]!r}, not {text[pos] * 2!r}", pos)
            (symbol, quote), end = match.groups(), match.end()
            if quote:
                if not (string := _STRING_RES[quote].match(text, pos)):
                    raise self.fail(f"unterminated {quote} string", pos)
                value, end = re.sub(r"\\(.)", _unescape, string[1]), string.end()
                tokens.append(_Token("string", value, pos, end))
            elif symbol:
                tokens.append(_Token(_SYMBOLS.get(symbol, "op"), symbol, pos, end))
            elif not match[0].isspace():
                kind = match[0].lower() if match[0].lower() in KEYWORDS else "word"
                tokens.append(_Token(kind, match[0], pos, end))
            if tokens and len(tokens[-1].text) > MAX_WORD:
                raise self.fail(f"a word or string longer than {MAX_WORD:,} characters", tokens[-1].pos)
            pos = end
        return [*tokens, _Token("end", "", len(text), len(text))]

    def _or(self) -> Expr:
        items = [self._and()]
        while self.peek().kind == "or":
            self.take()
            items.append(self._and())
        return _join(Or, items)

    def _and(self) -> Expr:
        items = [self._not()]
        # Adjacent terms are joined by an implicit 'and', as in a search box.
        while (kind := self.peek().kind) in ("and", "word", "string", "(", "not"):
            if kind == "and":
                self.take()
            items.append(self._not())
        return _join(And, items)

    def _not(self) -> Expr:
        negated = False
        while self.peek().kind == "not":
            self.take()
            negated = not negated
        # NOT NOT x is x even in SQL's three-valued logic, so a chain collapses.
        item = self._term()
        return Not(item) if negated else item

    def _term(self) -> Expr:
        token = self.take()
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.fail(f"more than {MAX_TERMS:,} terms", token.pos)
        if token.kind == "(" and self.depth >= _MAX_DEPTH:
            raise self.fail(f"more than {_MAX_DEPTH} nested parentheses", token.pos)
        if token.kind == "(":
            self.depth += 1
            expr = self._or()
            if (close := self.take()).kind != ")":
                raise self.fail("missing ')'", close.pos)
            self.depth -= 1
            return expr
        if token.kind == "string":
            return Text(token.text)
        if token.kind == "word":
            return self._word(token)
        if token.kind == ")" and self.depth == 0:
            raise self.fail("unmatched ')'", token.pos)
        before = self.tokens[self.index - 2].text if self.index > 1 else ""
        where = f"after {before!r}" if before else "at the start"
        got = f", got {token.text!r}" if token.text else ""
        raise self.fail(f"expected a term {where}{got}", token.pos)

    def _word(self, word: _Token) -> Expr:
        quoted = self.glued_string(word)
        if self.peek().kind == "op":
            field = self.field(word, quoted)
            op, value = self.take().text, self.take()
            if value.kind not in ("word", "string"):
                raise self.fail(f"expected a value after {op!r}", value.pos)
            parsed = self._value(field, _OPS[op], value.text, value.pos, quoted=value.kind == "string")
            return Compare(field, _OPS[op], parsed)
        if ":" in word.text:
            return self._colon_term(word, quoted)
        if quoted is not None:
            raise self.fail("expected an operator", self.peek().pos)
        return Text(word.text)

    def _colon_term(self, word: _Token, quoted: str | None) -> Expr:
        """`KEY:VALUE` sugar: a tag, a key's presence, or a run-attribute comparison."""
        key, _, value = word.text.partition(":")
        key, at = key.lower(), len(key) + 1
        if key == "has":
            if (field := self.field(word, quoted, at=at)).scope == "run":
                raise self.fail("'has:' takes metrics.<key> or params.<key>", word.pos)
            return HasKey(field)
        if quoted is not None and value:
            raise self.fail(f"unexpected quoted text after {word.text!r}", word.end)
        value = value if quoted is None else quoted
        if not value:
            raise self.fail(f"expected a value after '{key}:'", word.pos + at)
        if key == "tag":
            return HasTag(value)
        if key not in _TERMS:
            hint = "terms: " + ", ".join(f"{term}:" for term in _TERMS)
            guess = _did_you_mean(key, _TERMS, suffix=":")
            raise self.fail(f"unknown term '{key}:'{guess}", word.pos, hint=hint)
        # Wildcards make it a glob; commit and id match a prefix, as git does.
        wildcard = "*" in value or "?" in value
        prefix = key in ("commit", "id") and not wildcard
        field, pattern = Field("run", key), f"{value}*" if prefix else value
        op: Op = "~" if wildcard or prefix else "="
        is_quoted, pos = quoted is not None, word.pos + at
        typed = self._value(field, op, pattern, pos, quoted=is_quoted)
        return Compare(field, op, typed)

    def _value(self, field: Field, op: Op, raw: str, pos: int, *, quoted: bool) -> Value:
        """Type and check a comparison's value for its field and operator."""
        numeric = field.scope == "metrics" or (field.scope == "run" and field.name in _NUMERIC_RUN_FIELDS)
        if op in ("~", "!~"):
            if numeric:
                number = format_field(field)
                raise self.fail(f"{op!r} matches text but {number} is a number", pos)
            return raw
        value = raw if quoted else literal(raw)
        if field.scope == "run" and value is not None:
            return self._run_value(field.name, raw, pos)
        if field.scope == "metrics" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise self.fail(f"metrics are numbers, got {raw!r}", pos)
        if (value is None or isinstance(value, bool)) and op not in ("=", "!="):
            raise self.fail(f"{raw!r} only compares with '=' or '!='", pos)
        return value

    def _run_value(self, name: str, raw: str, pos: int) -> Value:
        """Normalise a run attribute's value to what the database stores."""
        if name == "exit_code":
            if isinstance(code := literal(raw), int) and not isinstance(code, bool):
                return code
            raise self.fail(f"exit_code takes a whole number, got {raw!r}", pos)
        if name == "duration":
            match = _DURATION_RE.fullmatch(raw)
            unit = _UNITS[(match[2] or "s").lower()] if match else math.nan
            if match and math.isfinite(seconds := float(match[1]) * unit):
                return seconds
            raise self.fail(f"duration takes seconds or 90s/5m/2h, got {raw!r}", pos)
        if name == "started":
            try:  # a time without an offset is UTC, as the store keeps it
                moment = datetime.fromisoformat(raw)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                stamp = moment.astimezone(UTC).timestamp()
                datetime.fromtimestamp(stamp, UTC)  # to_text must print it back
            except (ValueError, OverflowError, OSError):
                why = f"started takes an ISO date or datetime, got {raw!r}"
                raise self.fail(why, pos) from None
            return stamp
        if name == "status" and raw.lower() not in STATUSES:
            guess = _did_you_mean(raw.lower(), STATUSES)
            hint = "statuses: " + ", ".join(STATUSES)
            raise self.fail(f"unknown status {raw!r}{guess}", pos, hint=hint)
        return raw.lower() if name == "status" else raw


def _join(kind: type[And | Or], items: list[Expr]) -> Expr:
    """One item stays itself; a nested group of the same kind is flattened in, and an
    item repeated is kept once (`a and a` is `a`): a generated filter costs no more SQL
    than it means."""
    if len(items) == 1:
        return items[0]
    flat = (part for i in items for part in (i.items if isinstance(i, kind) else (i,)))
    # Keyed by repr, which tells `true` from `1` where equality does not.
    unique = tuple({repr(part): part for part in flat}.values())
    return unique[0] if len(unique) == 1 else kind(unique)


def _unescape(match: re.Match[str]) -> str:
    return _ESCAPES.get(match[1], match[1])


def _did_you_mean(word: str, choices: tuple[str, ...], *, suffix: str = "") -> str:
    import difflib  # only for a filter with a mistake in it

    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}{suffix}'?)" if close else ""
