"""The one filter language of `ledger list` and the TUI filter box.

`nodes` is the AST every reader compiles, `parser` reads text into it, `printer`
writes it back; `words` holds what the last two must agree on.
"""

from __future__ import annotations

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
    fields_used,
    requires_key,
)
from ledger.core.filters.parser import MAX_TERMS, MAX_WORD, parse_filter, parse_sort
from ledger.core.filters.printer import to_text

__all__ = [
    "MAX_TERMS",
    "MAX_WORD",
    "RUN_FIELDS",
    "STATUSES",
    "And",
    "Compare",
    "Expr",
    "Field",
    "HasKey",
    "HasTag",
    "Not",
    "Op",
    "Or",
    "Scope",
    "SortKey",
    "Text",
    "Value",
    "fields_used",
    "parse_filter",
    "parse_sort",
    "requires_key",
    "to_text",
]
