"""Unit tests for ledger.core.ids: UUIDv7 run IDs, prefixes as users paste them, abbreviations."""

from __future__ import annotations

import itertools
import multiprocessing
import re
import time
import uuid

import pytest

from ledger.core.ids import is_hex, new_run_id, normalize_prefix


def make_ids(count: int) -> list[str]:
    """Run in a spawned process: a batch of IDs from a fresh interpreter."""
    return [new_run_id() for _ in range(count)]


def test_new_run_id_is_32_lowercase_hex_digits() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", new_run_id())


def test_new_run_id_has_version_7_nibble() -> None:
    assert new_run_id()[12] == "7"


def test_new_run_id_has_rfc_variant_bits() -> None:
    assert int(new_run_id()[16], 16) >> 2 == 0b10


def test_new_run_id_parses_as_a_version_7_rfc_uuid() -> None:
    parsed = uuid.UUID(hex=new_run_id())

    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)


def test_new_run_id_starts_with_the_unix_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    run_id = new_run_id()
    after = time.time_ns() // 1_000_000

    # The counter may push an ID a few milliseconds ahead when many were made at once.
    assert before <= int(run_id[:12], 16) <= after + 5


def test_new_run_id_strictly_increases_within_a_process() -> None:
    ids = [new_run_id() for _ in range(10_000)]

    assert all(a < b for a, b in itertools.pairwise(ids))


@pytest.mark.slow
def test_new_run_id_is_unique_across_processes() -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        batches = pool.map(make_ids, [2_000] * 4)

    everything = [run_id for batch in batches for run_id in batch]
    assert len(everything) == 8_000
    assert len(set(everything)) == 8_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0190abcd", "0190abcd"),
        ("0190ABCD", "0190abcd"),
        ("0190abcd-ef01-7abc-8def-0123456789ab", "0190abcdef017abc8def0123456789ab"),
        ("  0190abcd\n", "0190abcd"),
        ("Latest", "latest"),
        ("", ""),
    ],
    ids=["plain", "uppercase", "uuid-with-dashes", "surrounding-space", "word", "empty"],
)
def test_normalize_prefix_accepts_ids_as_pasted(text: str, expected: str) -> None:
    assert normalize_prefix(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0123456789abcdef", True),
        ("a", True),
        ("", False),
        ("ABC", False),
        ("12g4", False),
        ("0190-abcd", False),
        ("baseline", False),
        (" abc", False),
    ],
    ids=["all-digits", "one-letter", "empty", "uppercase-not-normalised", "non-hex", "dash", "word", "space"],
)
def test_is_hex_tells_an_id_prefix_from_a_name(text: str, expected: bool) -> None:
    assert is_hex(text) is expected
