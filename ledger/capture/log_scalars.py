"""Metrics a script only prints: `Epoch 3/5 - loss: 0.191234 - val_acc: 0.8123`.

Many course and research scripts write no metrics file, so their results would be
lost. Like Guild AI's output scalars, the ledger reads `key: value` and `key=value`
numbers from the run's log as step series. The built-in patterns are conservative:
a key starts with a letter and is not quoted or an option (`--lr=`), `key: value`
needs a space after the colon and `key=value` none around the `=`, and the number
must end there, so timestamps (`12:03:04`), fractions (`1/5`), versions (`2.1.0`),
dates, IP addresses, paths and units (`3ms`) are not read; a `key: value` after a
plain word ends a phrase (`will be: 768`), not a metric. Whole lines are skipped when
they are progress bars (a `\\r` redraw, `45%|`, a rate, bar glyphs) or reprs
(`Namespace(lr=0.1)`).

Steps come from `step`, `global_step`, `iteration` or `iter` keys, else from an
epoch (`epoch: 3`, `Epoch 3/5`, `Epoch [3/5]`), on the value's line or the last line
that had one; a value with no step seen yet is numbered by its occurrence.
"""

from __future__ import annotations

import heapq
import re
from array import array
from typing import TYPE_CHECKING

from ledger.capture.log_tee import decompress_log
from ledger.core.chunks import Points
from ledger.core.log_patterns import compile_patterns

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Sequence

LOG_SOURCE = "log"
"""The `source` of metrics read from the log, as `ledger show` prints it."""

MAX_KEYS = 500
"""More distinct keys than this is noise (a table printed as text), not metrics."""

_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|(?i:[-+]?inf(?:inity)?|nan)"
_PAIR = (
    r"(?<![\w./@'\"-])(?P<key>[A-Za-z_][\w./@-]*+)(?::[ \t]+|=)"
    rf"(?P<value>{_NUMBER})(?![\w.:/-]|,[0-9])"
    # ...and what follows is the line's end, a separator or the next pair: `data: 3 files`
    # is a sentence, `loss: 0.2 - acc: 0.9` and `loss: 2.3  [64/60000]` are metrics.
    r"(?=[%,;|)\]]|[ \t]*(?:\r?$|[-|,;\[(]|[A-Za-z_][\w./@-]*(?::[ \t]|=)))"
)
_EPOCH = (
    r"(?<![\w'\"-])(?i:epoch)[ \t]*[:=]?[ \t]*[\[(]?[ \t]*(?P<epoch>[0-9]+)"
    r"(?:[ \t]*/[ \t]*[0-9]+)?(?![\w.])"
)
_PAIRS = re.compile(_PAIR)
_VALUE_END = re.compile(rf"(?<![\w.])(?:{_NUMBER})%?$")
"""The end of a previous pair's value (`loss: 0.2 acc: 0.9`)."""
_PROGRESS = re.compile(r"%\||\bit/s\b|\bs/it\b|[\u2500-\u259f]")
"""Progress bars (tqdm's `45%|`, a rate, Rich's and others' bar glyphs): their numbers
are rounded, partial, and redrawn as they go."""
_EPOCHS = re.compile(_EPOCH)
_STEP_KEYS = frozenset({"step", "global_step", "iteration", "iter"})
_EPOCH_KEYS = frozenset({"epoch"})
_NEVER_METRICS = frozenset(
    {"seed", "pid", "port", "version", "rank", "local_rank", "node_rank", "world_size"}
)
"""Numbers scripts print about the process, not results."""
_REPR = re.compile(r"[A-Za-z_]\w*+\([A-Za-z_]\w*+=")
"""A repr with keyword arguments: a config dump (`Namespace(lr=0.1)`), not results."""


def read_stored_log(
    log: bytes, *, patterns: Sequence[str], skip: Collection[str], at_ms: int
) -> tuple[dict[str, Points], list[str]]:
    """`read_log_scalars` on a log as the ledger stores it; never raises into the run."""
    try:
        return read_log_scalars(decompress_log(log), patterns=patterns, skip=skip, at_ms=at_ms)
    except Exception as e:  # noqa: BLE001 - a metric the log could not give is a capture problem
        return {}, [f"log: metrics not read from the output ({type(e).__name__}: {e})"]


def read_log_scalars(
    text: str, *, patterns: Sequence[str] = (), skip: Collection[str] = (), at_ms: int = 0
) -> tuple[dict[str, Points], list[str]]:
    """Step series of the numbers the log printed, and problems for the record.

    Args:
        text: the run's (redacted) log.
        patterns: user regular expressions replacing the built-in ones
            (`ledger.core.log_patterns.compile_patterns` says what they may name).
        skip: keys recorded otherwise (params, metrics files): not read again.
        at_ms: the time given to every point: a log line carries none of its own.
    """
    problems: list[str] = []
    if patterns:
        lines = _pattern_lines(text.replace("\r", "\n"), compile_patterns(patterns))
    else:
        lines = _built_in_lines(text)
    steps: dict[str, array[int]] = {}
    values: dict[str, array[float]] = {}
    dropped: set[str] = set()
    current: int | None = None
    for line_step, pairs in lines:
        if line_step is not None:
            current = line_step
        for key, value in pairs:
            if key in skip or key in dropped:
                continue
            if key not in values:
                if len(values) >= MAX_KEYS:
                    dropped.add(key)
                    continue
                steps[key], values[key] = array("q"), array("d")
            steps[key].append(len(steps[key]) if current is None else current)
            values[key].append(value)
    if dropped:
        problems.append(f"log: more than {MAX_KEYS} metric names printed; {len(dropped)} not read as metrics")
    series = {k: Points(steps[k], array("q", [at_ms]) * len(steps[k]), values[k]) for k in values}
    return series, problems


def _built_in_lines(text: str) -> Iterator[tuple[int | None, list[tuple[str, float]]]]:
    """Line by line, each regular expression only where `in` finds its separator or
    word: one expression over the whole text took seconds on a 50 MB log."""
    bar = ""
    for line in text.split("\n"):
        if bar and _continues(bar, line):
            continue
        bar = ""
        has_pair = ":" in line or "=" in line
        has_epoch = "poch" in line or "POCH" in line
        if not (has_pair or has_epoch):
            continue
        if "\r" in line.rstrip("\r") or _PROGRESS.search(line):
            bar = line.rstrip("\r").rsplit("\r", 1)[-1]
            continue  # a progress bar (redrawn after a `\r`, a rate, bar glyphs)
        if "(" in line and "=" in line and _REPR.search(line):
            continue
        step = epoch = None
        pairs = []
        for pair in _PAIRS.finditer(line) if has_pair else ():
            key, value = pair["key"], pair["value"]
            if not _starts_a_pair(line, pair):
                continue
            lowered = key.lower()
            if lowered in _STEP_KEYS:
                step = _whole(value)
            elif lowered in _EPOCH_KEYS:
                epoch = _whole(value)
            elif lowered not in _NEVER_METRICS:
                pairs.append((key, float(value)))  # `_NUMBER` is what float() reads
        if epoch is None and has_epoch and (found := _EPOCHS.search(line)) is not None:
            epoch = int(found[1])
        if pairs or step is not None or epoch is not None:
            yield (step if step is not None else epoch), pairs


def _continues(bar: str, line: str) -> bool:
    """Whether `line` is the wrapped rest of the progress bar above it: Rich, writing to
    a file or pipe, wraps the bar's last column (Lightning's `val/loss: 0.181`) onto lines
    padded to where that column starts. A line indented otherwise is the script's own."""
    indent = len(line) - len(line.lstrip(" "))
    return 0 < indent < len(bar) and bar[indent - 1] == " " and bar[indent] != " " and line.strip() != ""


def _starts_a_pair(line: str, found: re.Match[str]) -> bool:
    """Whether a `key: value` begins a pair: at the line's start, after a separator or
    the previous pair's value, or set apart by a tab or two spaces. After a plain word it
    ends a sentence (`tokens per iteration will be: 768`, `Modules in eval mode: 0`);
    `key=value` is a pair wherever it stands."""
    if line[found.end("key")] == "=":
        return True
    before = line[: found.start("key")]
    bare = before.rstrip()
    if not bare or before.endswith(("\t", "  ")) or bare[-1] in "-|,;:([{>":
        return True
    return _VALUE_END.search(bare) is not None


def _pattern_lines(
    text: str, patterns: Sequence[re.Pattern[str]]
) -> Iterator[tuple[int | None, list[tuple[str, float]]]]:
    """The matches of user patterns, grouped by line in the order of the log."""
    found = heapq.merge(*(pattern.finditer(text) for pattern in patterns), key=lambda m: m.start())
    line_end = -1
    groups: list[dict[str, str | None]] = []
    for match in found:
        if match.start() >= line_end:
            if groups:
                yield _read_line(groups)
            newline = text.find("\n", match.start())
            line_end = len(text) if newline < 0 else newline
            groups = []
        groups.append(match.groupdict())
    if groups:
        yield _read_line(groups)


def _read_line(found: Sequence[dict[str, str | None]]) -> tuple[int | None, list[tuple[str, float]]]:
    """One line's step (a step key beats an epoch) and its (key, value) pairs."""
    step: int | None = None
    epoch: int | None = None
    pairs: list[tuple[str, float]] = []
    for groups in found:
        for name, text in groups.items():
            if text is None or name == "value":
                continue
            if name == "epoch":
                epoch = _whole(text)
            elif name == "step":
                step = _whole(text)
            elif name == "key":
                lowered = text.lower()
                if lowered in _STEP_KEYS:
                    step = _whole(groups["value"])
                elif lowered in _EPOCH_KEYS:
                    epoch = _whole(groups["value"])
                elif lowered not in _NEVER_METRICS and (value := _number(groups["value"])) is not None:
                    pairs.append((text, value))
            elif (value := _number(text)) is not None:
                pairs.append((name, value))
    return (step if step is not None else epoch), pairs


def _whole(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _number(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None
