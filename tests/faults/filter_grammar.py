"""Filters generated from the grammar of the filter language, for the fuzz tests.

A seeded `random.Random` draws each filter from the productions of `ledger.core.filters`
(or > and > not > term; comparisons, `KEY:VALUE` terms, words, quoted strings), with
values chosen from the edges that broke filters before: numbers past every integer
and float range, NaN and infinities, words near the length limit, deep nesting, long
chains, LIKE wildcards, quotes, escapes and letters whose case only Unicode folds.
`edge_filters` adds hand-picked shapes (a 3,000-term chain, a 100,000-character word).
"""

from __future__ import annotations

import random

RUN_KEYS = ("acc", "loss", "lr", "epochs", "model", "use_amp", "opt", "nan_p", "inf_p", "big", "name key")
FIELDS = (
    "id", "name", "status", "branch", "commit", "source", "host", "user", "exit_code", "duration", "started",
)  # fmt: skip
TERMS = ("tag", "has", "status", "name", "branch", "commit", "source", "host", "user", "id", "exit_code")
OPS = ("=", "==", "!=", "<", "<=", ">", ">=", "~", "!~")

NUMBERS = (
    "0", "-0", "1", "-1", "0.1", "0.9", "0.95", "10", "10.0", "255", "-9", "1e3", "1e-320", "5e-324",
    "1e308", "1.7976931348623157e308", "1e309", "-1e400", "nan", "-nan", "NaN", "inf", "-inf",
    "Infinity", "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
    "9223372036854775808", "99999999999999999999999999", "9" * 68, "-" + "9" * 68, "1" + "0" * 400,
    ".5", "5.", "1E5", "+3",
)  # fmt: skip
WORDS = (
    "alpha", "ALPHA", "beta", "ta", "run", "main", "feature/x", "resnet", "vit", "auto", "gpu-1",
    "ana", "BOB", "finished", "failed", "running", "crashed", "baseline", "wip", "aaaa", "0190",
    "école", "ÉCOLE", "École", "straße", "STRASSE", "İ", "ı", "ǅ", "Ω", "ω", "日本", "🚀",
    "50%", "a_b", "%", "_", "a/b", "5m", "90s", "2h", "1d", "2026-01-02", "2026-01-02T12:00:00Z",
    "true", "false", "null", "none", "x" * 255, "y" * 256,
)  # fmt: skip
GLOBS = ("*", "?", "a*", "*ta*", "res*", "RES*", "v?t", "*%*", "*_*", "é*", "É*", "*\\*", "[a]*", "**")
STRINGS = (
    "", " ", "delta run", "a\\\\b", 'say "hi"', "it's", "tab\\there", "new\\nline", "`tick`",
    "and", "or", "not", "a:b", "x y", "École", "ß", "\u00a0", "‮rtl", "back\\\\", "50%",
)  # fmt: skip


class FilterGrammar:
    """Draws filters; `depth` bounds the nesting so that most filters stay readable."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def filters(self, count: int) -> list[str]:
        """`count` generated filters (the fixed shapes are `edge_filters`)."""
        return [self.expr(0) for _ in range(count)]

    def expr(self, depth: int) -> str:
        rng = self.rng
        parts = [self.conjunction(depth) for _ in range(self._count())]
        return rng.choice((" or ", " || ", " OR ")).join(parts)

    def conjunction(self, depth: int) -> str:
        rng = self.rng
        parts = [self.negation(depth) for _ in range(self._count())]
        return "".join(part + rng.choice((" and ", " && ", " ", " AND ")) for part in parts[:-1]) + parts[-1]

    def negation(self, depth: int) -> str:
        prefix = self.rng.choice(("", "", "", "not ", "!", "not not ", "NOT "))
        return prefix + self.term(depth)

    def term(self, depth: int) -> str:
        rng = self.rng
        kind = rng.random()
        if kind < 0.12 and depth < 4:
            return f"({self.expr(depth + 1)})"
        if kind < 0.55:
            return self.compare()
        if kind < 0.8:
            return self.colon_term()
        if kind < 0.9:
            return rng.choice(WORDS)
        return self.quoted()

    def compare(self) -> str:
        rng = self.rng
        field = self.field()
        scope = field.partition(".")[0].lower() if "." in field else field.lower()
        op = rng.choice(OPS)
        if rng.random() < 0.8:  # mostly a value of the field's own type, so that most filters run
            op, value = self.typed(scope, op)
        else:
            value = self.value(op)
        space = rng.choice((" ", "", "  "))
        return f"{field}{space}{op}{space}{value}"

    def typed(self, scope: str, op: str) -> tuple[str, str]:
        """An operator and a value the field takes."""
        rng = self.rng
        ordered = rng.choice(("=", "!=", "<", "<=", ">", ">="))
        if scope in ("metrics", "metric", "m"):
            return ordered, rng.choice(NUMBERS)
        if scope == "exit_code":
            return ordered, rng.choice([n for n in NUMBERS if n.lstrip("+-").isdigit()])
        if scope == "duration":
            return ordered, rng.choice(
                ("0", "1", "30", "90s", "5m", "1h", "2d", "1e400", "0.5ms", "1" + "0" * 400)
            )
        if scope == "started":
            return ordered, rng.choice(
                ("2026-01-02", "2026-01-02T12:00:00Z", "2026-01-05T00:00:00+02:00", "2025-12-31")
            )
        if scope == "status":
            return rng.choice(("=", "!=")), rng.choice(("finished", "FAILED", "running", "crashed"))
        return op, self.value(op)

    def field(self) -> str:
        rng = self.rng
        if rng.random() < 0.35:
            run_fields = (*FIELDS, "NAME", "Exit_Code")
            return rng.choice(run_fields) if rng.random() < 0.95 else rng.choice(("durations", "tags"))
        scope = rng.choice(("metrics", "params", "m", "p", "metric", "param", "Metrics"))
        key = rng.choice(RUN_KEYS)
        if " " in key or rng.random() < 0.1:
            return f"{scope}.{self._quote(key)}"
        return f"{scope}.{key}"

    def value(self, op: str) -> str:
        rng = self.rng
        if op in ("~", "!~") and rng.random() < 0.7:
            glob = rng.choice(GLOBS)
            return self._quote(glob) if rng.random() < 0.4 else glob
        roll = rng.random()
        if roll < 0.45:
            return rng.choice(NUMBERS)
        if roll < 0.85:
            return rng.choice(WORDS)
        return self.quoted()

    def colon_term(self) -> str:
        rng = self.rng
        term = rng.choice((*TERMS, "tag", "has", "nope", "TAG"))
        if term.lower() == "has":
            return f"has:{self.field()}"
        if term.lower() == "status" and rng.random() < 0.7:
            return f"status:{rng.choice(('finished', 'Failed', 'running', 'crashed'))}"
        value = rng.choice((*WORDS, *GLOBS, *NUMBERS[:12]))
        if rng.random() < 0.15:
            return f"{term}:{self._quote(value)}"
        return f"{term}:{value}"

    def quoted(self) -> str:
        return self._quote(self.rng.choice((*STRINGS, *WORDS)))

    def _quote(self, text: str) -> str:
        quote = self.rng.choice(("'", '"', "`"))
        body = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
        return f"{quote}{body}{quote}"

    def _count(self) -> int:
        return self.rng.choice((1, 1, 1, 2, 2, 3))


def edge_filters() -> list[str]:
    """Shapes that broke filters on one backend, or on both with an unexpected error."""
    deep = "(" * 64 + "alpha" + ")" * 64
    alternating = "".join(f"(a{'nd' if i % 2 else 'r'} " for i in range(40))
    return [
        "exit_code > 99999999999999999999999999",
        "exit_code <= " + "9" * 68,
        "metrics.acc < " + "9" * 68,
        "params.big = 1" + "0" * 400,
        "metrics.acc > -1" + "0" * 400,
        "exit_code = 2147483648 or exit_code = -2147483649",
        " and ".join(["a"] * 3000),
        " or ".join(["zz"] * 3000 + ["alp"]),
        "a" * 100_000,
        '"' + "b" * 100_000 + '"',
        "name ~ " + "*" * 10_000,
        " or ".join(["x"] * 10_001),
        deep,
        "(" * 65 + "alpha" + ")" * 65,
        "alpha " + alternating.replace("(", "(beta or ").rstrip() + " x" + ")" * 40,
        "ÉCOLE",
        "name ~ école*",
        "name ~ STRASSE",
        "İ",
        "params.nan_p = nan",
        "params.nan_p != nan",
        "params.lr < nan",
        "metrics.acc >= nan",
        "params.inf_p >= inf",
        "metrics.acc = -0",
        "params.model > 0.5",
        "params.lr > abc",
        "name < B",
        "name >= é",
        "branch != ''",
        "name = ''",
        "not name ~ '*'",
        "nul\x00byte",
        "lone \udcff surrogate",
    ]
