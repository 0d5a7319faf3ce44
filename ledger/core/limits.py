"""How long a stored text may be: one limit per field, the same on every backend.

PostgreSQL refuses a value longer than its column (`varchar(255)`); SQLite takes
anything. So the limits are checked before anything is written, the same way on both:

- what a person types (`ledger run --name/--tag`, `ledger tag`) is refused with one
  line, before the training starts;
- what comes from the run itself (param and metric keys in files, the API's keys, a
  branch name) never fails the run: a value over its limit is shortened to the limit,
  ending in `--` and 8 hex digits of its hash (so two long keys stay two keys, and the
  same key logged again lands in the same series), and a capture problem says so;
- `ledger sync` copies every run that fits and names the ones that do not (a ledger
  written before these limits may hold longer values).

Limits count characters, as PostgreSQL does. `ledger.store.tables` sizes its columns from
these constants. Only the standard library is imported: the run's own path uses this.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ledger.core.errors import LedgerError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ledger.core.records import DataItem, NewRun, Param, RunEnd

NAME = 255
"""A run's name."""
TAG = 255
KEY = 255
"""A param's, a metric's or a series' key."""
SOURCE = 255
"""Where a param or metric came from (a file's path, `argv`, `api`)."""
LABEL = 255
"""A host, a user, a branch, a DVC stage."""
ROLE = 63
"""A PostgreSQL role name (the server's NAMEDATALEN - 1)."""
PATH = 1024
"""A data or output path, and the file that lists a data path."""

_HASH = 8


def check_input(what: str, text: str, limit: int, *, hint: str) -> None:
    """Refuse a value a person typed that no ledger could store.

    Raises:
        LedgerError: one line naming the field, its length and the limit.
    """
    if len(text) > limit:
        raise LedgerError(
            f"{what} {_show(text)} is {len(text):,} characters, over the {limit} allowed", hint=hint
        )


def check_labels(*, name: str | None = None, tags: Sequence[str] = ()) -> None:
    """Refuse a run name or tags given on the command line that no ledger could store.

    Raises:
        LedgerError: one line for the first value over its limit.
    """
    if name is not None:
        check_input("run name", name, NAME, hint="give a shorter --name")
    for tag in tags:
        check_input("tag", tag, TAG, hint="give a shorter tag")


def fit(text: str, limit: int) -> str:
    """`text`, or a shortened form of exactly `limit` characters that only `text` gives."""
    if len(text) <= limit:
        return text
    import hashlib  # only for a value over its limit

    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH]
    return f"{text[: limit - _HASH - 2]}--{digest}"


def fitted(what: str, text: str, limit: int, problems: list[str]) -> str:
    """`fit(text, limit)`, with a capture problem in `problems` when it was shortened."""
    short = fit(text, limit)
    if short != text:
        problems.append(
            f"{what} {_show(text)} is {len(text):,} characters, over the {limit} allowed: stored as {_show(short)}"
        )
    return short


def fit_all(what: str, texts: Iterable[str], limit: int, problems: list[str]) -> list[str]:
    """`fitted` for each text."""
    return [fitted(what, text, limit, problems) for text in texts]


def fit_new_run(run: NewRun) -> NewRun:
    """A new run whose every text fits its column; what was shortened joins its capture problems."""
    problems: list[str] = []

    def label(what: str, text: str | None) -> str | None:
        return None if text is None else fitted(what, text, LABEL, problems)

    changed = dataclasses.replace(
        run,
        name=None if run.name is None else fitted("run name", run.name, NAME, problems),
        host=label("host", run.host),
        user=label("user", run.user),
        branch=label("branch", run.branch),
        tags=fit_all("tag", run.tags, TAG, problems),
        params=_fit_params(run.params, problems),
        data=_fit_data(run.data, problems),
    )
    return dataclasses.replace(changed, capture_errors=(*run.capture_errors, *problems)) if problems else run


def fit_run_end(end: RunEnd) -> RunEnd:
    """`fit_new_run` for what is learnt when the run ends."""
    problems: list[str] = []
    metrics = [
        dataclasses.replace(
            m,
            key=fitted("metric key", m.key, KEY, problems),
            source=fitted("metric source", m.source, SOURCE, problems),
        )
        for m in end.metrics
    ]
    outputs = [
        dataclasses.replace(o, path=fitted("output path", o.path, PATH, problems)) for o in end.outputs
    ]
    changed = dataclasses.replace(
        end,
        metrics=metrics,
        outputs=outputs,
        params=_fit_params(end.params, problems),
        data=_fit_data(end.data, problems),
    )
    return dataclasses.replace(changed, capture_errors=(*end.capture_errors, *problems)) if problems else end


def _fit_params(params: Sequence[Param], problems: list[str]) -> list[Param]:
    return [
        dataclasses.replace(
            p,
            key=fitted("param key", p.key, KEY, problems),
            source=fitted("param source", p.source, SOURCE, problems),
        )
        for p in params
    ]


def _fit_data(data: Sequence[DataItem], problems: list[str]) -> list[DataItem]:
    return [
        dataclasses.replace(
            d,
            path=fitted("data path", d.path, PATH, problems),
            source=fitted("data source", d.source, PATH, problems),
            stage=None if d.stage is None else fitted("DVC stage", d.stage, LABEL, problems),
        )
        for d in data
    ]


def _show(text: str) -> str:
    """A long value as its start and end, enough to recognise it in one line."""
    return repr(text) if len(text) <= 40 else repr(f"{text[:24]}…{text[-12:]}")
