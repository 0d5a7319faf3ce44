"""Which filters require a metric or param key (the sort join may then be an inner one)."""

from __future__ import annotations

import pytest

from ledger.core.filters import Field, parse_filter, requires_key


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
