"""How a bare word reads: what the parser types it as and the printer must quote."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.core.filters.nodes import Value

KEYWORDS = ("and", "or", "not")
NUMBER = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
KEY_RE = re.compile(r"[\w/.-]+")
"""A metrics or params key that needs no quotes after `metrics.`/`params.`."""
BARE_RE = re.compile(r"[^\s()\"'`=!<>~&|:]+")
"""A word that reads as one token wherever a value or a search word stands."""

_NUMBER_RE = re.compile(rf"[+-]?{NUMBER}|[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_QUOTING = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def literal(word: str) -> Value:
    """Type an unquoted value: number, bool, null, or else the word itself."""
    lowered = word.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    if not _NUMBER_RE.fullmatch(word):
        return word
    try:
        return int(word)
    except ValueError:  # a float, or an int past int()'s digit limit
        return float(word)


def quote(text: str) -> str:
    """`text` in double quotes, escaped so that the tokenizer reads it back unchanged."""
    return '"' + "".join(_QUOTING.get(char, char) for char in text) + '"'
