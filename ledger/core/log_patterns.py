"""The user's patterns for metrics printed in a run's log, checked when the config is read.

`ledger.capture.log_scalars` applies them; the config only needs to refuse a bad one.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

_PATTERN_GROUPS = frozenset({"key", "value", "step"})


def compile_patterns(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    """Check user patterns: each needs `key` and `value` groups, a group named for its
    metric (`(?P<test_acc>...)`), or only a `step` (or `epoch`) group.

    Raises:
        ValueError: one line naming the pattern.
    """
    compiled = []
    for text in patterns:
        try:
            pattern = re.compile(text, re.MULTILINE)
        except re.error as e:
            raise ValueError(f"log metric pattern {text!r} is not a regular expression: {e}") from e
        names = set(pattern.groupindex)
        if (
            ("key" in names) != ("value" in names)
            or not names
            or (names - _PATTERN_GROUPS and "key" in names)
        ):
            raise ValueError(
                f"log metric pattern {text!r}: name the groups `key` and `value`, or one group "
                "per metric (`(?P<acc>...)`), plus `step` if the line has one"
            )
        compiled.append(pattern)
    return compiled
