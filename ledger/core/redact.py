"""Mask secrets in argv, logs and environment variables before anything is stored."""

from __future__ import annotations

import functools
import itertools
import re
import string
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence

    from ledger.core.param_values import ParamValue

MASK = "***"
"""What a secret becomes; short, so a redacted command line still reads naturally."""

DETERMINISM_ENV: tuple[str, ...] = (
    # Seeds and determinism switches: a run is not reproducible without them.
    "PYTHONHASHSEED",
    "CUBLAS_WORKSPACE_CONFIG",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    # Thread pools: they change floating-point reduction order, hence results.
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
"""Variables that change what a run computes (a reproduction sets them again)."""

LOCALE_ENV: tuple[str, ...] = ("LANG", "LC_ALL", "TZ")

ENV_ALLOW: tuple[str, ...] = (
    *DETERMINISM_ENV,
    # Devices and allocators.
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "CUDA_LAUNCH_BLOCKING",
    "HIP_VISIBLE_DEVICES",
    "PYTORCH_CUDA_ALLOC_CONF",
    # Distributed layout.
    "WORLD_SIZE",
    "RANK",
    "LOCAL_RANK",
    # Code and locale the interpreter saw.
    "PYTHONPATH",
    *LOCALE_ENV,
    # Where the run ran: scheduler and ledger identity.
    "SLURM_JOB_ID",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "LEDGER_RUN_ID",
)
"""Variables `capture_env` keeps by default: the ones that change what a run computes
or say where it ran. Everything else must be allowed in config, by name or glob."""

_SECRET_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "credential",
    "credentials",
)
"""A word ending like this is secret, so run-together names (`HFTOKEN`) count too."""
_SECRET_WORDS = frozenset({"pwd", "auth", "authorization"})
_SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key")})
_VOCAB_TOKENS = frozenset({"pad", "eos", "bos", "unk", "cls", "sep", "mask", "special", "start", "end"})
"""Words before `token` that name a tokenizer's vocabulary entry, not a credential."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_ARG_KEY = re.compile(r"[+~]*[A-Za-z_][\w.-]*")

# (name, literal prefix, rest) of known token formats. Every regex starts with its
# literal so `re` can use its fast prefix scan: a leading `\b` or alternation made a
# 10 MB log take seconds. The word boundary is a lookbehind placed after the prefix.
_TOKEN_FORMATS = (
    ("GitHub token", "gh", r"[pousr]_[A-Za-z0-9]{30,}"),
    ("GitHub token", "github_pat_", r"[A-Za-z0-9_]{22,}"),
    ("GitLab token", "glpat-", r"[A-Za-z0-9_-]{20,}"),
    ("API key (sk-)", "sk-", r"(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}"),
    ("Stripe key", "sk_", r"(?:live|test)_[A-Za-z0-9]{16,}"),
    ("Stripe key", "rk_", r"(?:live|test)_[A-Za-z0-9]{16,}"),
    ("Slack token", "xox", r"[baprs]-[A-Za-z0-9-]{10,}"),
    ("AWS access key", "AKIA", r"[0-9A-Z]{16}\b"),
    ("AWS access key", "ASIA", r"[0-9A-Z]{16}\b"),
    # Google's keys are 39 characters; a longer run of key characters goes whole.
    ("Google API key", "AIza", r"[0-9A-Za-z_-]{35,}"),
    ("Hugging Face token", "hf_", r"[A-Za-z0-9]{30,}"),
    ("PyPI token", "pypi-", r"[A-Za-z0-9_-]{50,}"),
    ("npm token", "npm_", r"[A-Za-z0-9]{36}\b"),
    ("JSON web token", "eyJ", r"[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL
)
"""An unterminated key (a truncated log) runs to the end."""
KNOWN_FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    *((name, re.compile(rf"{re.escape(p)}(?<!\w{re.escape(p)}){rest}")) for name, p, rest in _TOKEN_FORMATS),
    ("private key", _PRIVATE_KEY),
)
"""(what it is, pattern) of secrets recognised by their shape alone."""
URL_PASSWORD = re.compile(r"(://[^\s:/@]*:)[^\s/@]+@")
_SUBSTITUTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    *((pattern, MASK) for _, pattern in KNOWN_FORMATS),
    # scheme://user:password@host keeps the user, which is useful and rarely secret.
    (URL_PASSWORD, rf"\1{MASK}@"),
    *(
        (re.compile(rf"({b})(?<!\w{b})([ \t]+)[\w.~+/=-]{{8,}}"), rf"\1\2{MASK}")
        for b in ("Bearer", "bearer", "BEARER")
    ),
)
# `password=x`, `token: x`, `"api_key": "x"`, `Authorization: Bearer x`, and an
# option and its value as a program prints its command line (`--password x`): found
# by a hint in an ASCII-lowercased copy (same offsets), then the whole key is checked
# by word so `max_tokens=5` or `author: me` survive.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_PAIR_HINTS = tuple(
    # One pattern per word, each starting with its literal (see `_TOKEN_FORMATS`).
    re.compile(rf"{word}[\w.-]*(?=[\"']?[ \t]*[:=]|[ \t]+[^\s-])")
    for word in ("pass", "pwd", "secret", "token", "auth", "credential", "key")
)
_PAIR_VALUE = re.compile(
    r"[\"']?[ \t]*[:=](?!=)[ \t]*(?:(?i:bearer|basic|token|digest)[ \t]+)?"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;]+)"
)
_OPTION_VALUE = re.compile(r"[ \t]+(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;-][^\s\"',;]*)")
_NOT_KEY_CHAR = re.compile(r"[^\w.-]")
_NOT_SECRET_VALUES = frozenset({"null", "none", "true", "false", "changeme", "required", "optional"})
_KNOWN_MIN_CHARS = 6
"""A shorter value the run was given as a secret is not masked wherever it appears in
its log: a password `1234` would take every `1234` with it."""


def redact_argv(argv: Sequence[str]) -> list[str]:
    """Mask secrets in a command line, keeping everything else as typed.

    An option whose name looks secret loses its value (`--api-key=x`, `--token x`);
    a value after such an option is taken to be the next argument unless that
    starts with `-`. `KEY=value` arguments with a secret-looking key lose their
    value, and known token formats or URL passwords are masked anywhere.
    """
    out: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next and not arg.startswith("-"):
            out.append(MASK)
            mask_next = False
            continue
        mask_next = False
        name, eq, _ = arg.partition("=")
        if arg.startswith("-") and is_secret_name(name):
            out.append(f"{name}={MASK}" if eq else arg)
            mask_next = not eq
        elif eq and _ARG_KEY.fullmatch(name) and is_secret_name(name):
            out.append(f"{name}={MASK}")
        else:
            out.append(redact_text(arg))
    return out


def redact_text(text: str, known: Collection[str] = ()) -> str:
    """Mask token formats, URL passwords and secret `key: value` pairs in free text.

    `known`: secrets the run was given (`known_secrets`), masked wherever they appear
    as a whole word, however the run printed them.
    """
    for pattern in _known_patterns(frozenset(known)):
        text = pattern.sub(MASK, text)
    for pattern, replacement in _SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    return _mask_pairs(text)


def capture_env(environ: Mapping[str, str], *, allow: Iterable[str] = ()) -> dict[str, str]:
    """The reproducibility-relevant subset of `environ`, with values redacted.

    Args:
        environ: usually `os.environ`.
        allow: extra names or glob patterns (`NCCL_*`) on top of `ENV_ALLOW`.

    Returns:
        Allowed variables sorted by name. A secret-looking name (`HF_TOKEN`) is never
        kept, whatever pattern allowed it.
    """
    patterns = (*ENV_ALLOW, *allow)
    return {
        name: redact_text(environ[name])
        for name in sorted(environ)
        if any(fnmatchcase(name, p) for p in patterns) and not is_secret_name(name, strict=True)
    }


def is_secret_name(name: str, *, strict: bool = False) -> bool:
    """Whether an option, key or variable name says its value is a secret.

    Names are compared by word, and by default only the last word (or last two)
    counts: `--hf-token`, `DB_PASSWORD` and `--aws-secret-access-key` are secret,
    while `--token-file`, `pad_token_id`, `--max-tokens` and `--author` keep their
    values, which are needed to reproduce a run.

    Args:
        name: the name, with any leading dashes; camelCase is split into words.
        strict: any word counts (`SSH_AUTH_SOCK`, `HF_TOKEN_PATH`); for environment
            variables, where leaving one out costs little.
    """
    words = [w for w in _WORD_SPLIT.split(_CAMEL.sub("-", name).lower()) if w]
    pairs = set(itertools.pairwise(words))
    if strict:
        return any(map(_is_secret_word, words)) or bool(pairs & _SECRET_PAIRS)
    if not words or (len(words) > 1 and words[-2] in _VOCAB_TOKENS):
        return False
    return _is_secret_word(words[-1]) or tuple(words[-2:]) in _SECRET_PAIRS


def redact_param(key: str, value: ParamValue) -> ParamValue:
    """A param's value as it may be stored: masked whole under a secret-looking key
    (`db.password`, `wandb.api_key`), else with secrets in its text masked.

    Booleans and nulls stay (`use_auth_token: true` says nothing secret).
    """
    return cast("ParamValue", _redact_value(key, value))  # the same shape as given


def _redact_value(key: str, value: object) -> object:
    if isinstance(value, bool) or value is None:
        return value
    if is_secret_name(key):
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [_redact_value(key, v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(f"{key}.{k}", v) for k, v in value.items()}
    return value


def known_secrets(argv: Sequence[str], environ: Mapping[str, str]) -> frozenset[str]:
    """The secrets a run was given: what `redact_argv` masks in its command, and the
    values of secret-looking environment variables (`HF_TOKEN`).

    They are held in memory only, to mask them in the run's log (`redact_text`).
    """
    found: list[str] = []
    for arg, masked in zip(argv, redact_argv(argv), strict=True):
        if arg != masked:
            found += _masked_parts(arg, masked)
    found += (value for name, value in environ.items() if is_secret_name(name))
    # A number is left to the other rules: masking it everywhere would take metrics with it.
    return frozenset(
        v for v in found if is_literal(v) and len(v) >= _KNOWN_MIN_CHARS and not v.replace(".", "").isdigit()
    )


def _mask_pairs(text: str) -> str:
    pieces: list[str] = []
    done = 0
    for _, pair in secret_pairs(text):
        value = pair["value"]
        quote = value[0] if value[0] in "\"'" else ""
        pieces += (text[done : pair.start("value")], quote, MASK, quote)
        done = pair.end()
    return "".join((*pieces, text[done:]))


def secret_pairs(text: str) -> Iterator[tuple[str, re.Match[str]]]:
    """(key, match of its value) for each secret-looking key given a value in `text`."""
    done = 0
    lowered = text.translate(_ASCII_LOWER)
    for hint in sorted((m for p in _PAIR_HINTS for m in p.finditer(lowered)), key=lambda m: m.start()):
        if hint.start() < done:
            continue
        before = text[max(done, hint.start() - 64) : hint.start()][::-1]
        stop = _NOT_KEY_CHAR.search(before)
        key_start = hint.start() - (len(before) if stop is None else stop.start())
        key = text[key_start : hint.end()]
        if not _is_secret_key(key):
            continue
        pair = _PAIR_VALUE.match(text, hint.end())
        if pair is None and key.startswith("-"):
            pair = _OPTION_VALUE.match(text, hint.end())
        if pair is None:
            continue
        yield key, pair
        done = pair.end()


def _masked_parts(original: str, masked: str) -> list[str]:
    """The spans of `original` that `masked` (the same text, redacted) replaced by MASK."""
    pieces = masked.split(MASK)
    if not original.startswith(pieces[0]) or not original.endswith(pieces[-1]):
        return []
    pos, stop = len(pieces[0]), len(original) - len(pieces[-1])
    parts: list[str] = []
    for piece in pieces[1:-1]:
        at = original.find(piece, pos, stop)
        if at < 0:
            return parts
        parts.append(original[pos:at])
        pos = at + len(piece)
    parts.append(original[pos:stop])
    return parts


def is_literal(value: str) -> bool:
    """A value written out, not a placeholder, reference or empty slot."""
    return (
        len(value) >= 3
        and value[0] not in "$<{%(*"
        and value.lower() not in _NOT_SECRET_VALUES
        and MASK not in value
    )


@functools.lru_cache(maxsize=64)
def _known_patterns(known: frozenset[str]) -> tuple[re.Pattern[str], ...]:
    # Longest first, so a secret holding another is masked whole.
    literals = (re.escape(v) for v in sorted(known, key=len, reverse=True))
    return tuple(re.compile(rf"{v}(?<![A-Za-z0-9]{v})(?![A-Za-z0-9])") for v in literals)


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    # Logs repeat the same few keys (`max_tokens=`) thousands of times.
    return is_secret_name(key)


def _is_secret_word(word: str) -> bool:
    return word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS)
