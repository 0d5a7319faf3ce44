"""Unit tests for ledger.core.redact: secrets never reach argv, logs or captured env vars."""

from __future__ import annotations

import pytest

from ledger.core.redact import (
    ENV_ALLOW,
    MASK,
    capture_env,
    is_secret_name,
    known_secrets,
    redact_argv,
    redact_param,
    redact_text,
)

# Fake credentials in the shapes real providers issue (none of them is live).
GITHUB = "ghp_" + "a1B2" * 9
GITHUB_OAUTH = "gho_" + "Z9y8" * 9
GITHUB_FINE = "github_pat_" + "11ABCDEFG0" * 3 + "_xyz"
OPENAI = "sk-proj-" + "Ab3dEf6hIj9k" * 4
ANTHROPIC = "sk-ant-api03-" + "aB1-cD2_eF3" * 8
SLACK = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
AWS = "AKIAIOSFODNN7EXAMPLE"
GOOGLE = "AIzaSy" + "A1b-" * 8 + "x"
GOOGLE_LONGER = GOOGLE + "Z"
"""A 40-character run of key characters: masked whole, not down to its last one."""
HF = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3"
SHA = "3f786850e387550fdab836ed7e6dc881de23001b"
UUID = "123e4567-e89b-12d3-a456-426614174000"
TOKENS = [
    GITHUB,
    GITHUB_OAUTH,
    GITHUB_FINE,
    OPENAI,
    ANTHROPIC,
    SLACK,
    AWS,
    GOOGLE,
    GOOGLE_LONGER,
    HF,
    JWT,
    "npm_" + "Ab3dEf6hIj" * 3 + "123456",
]
TOKEN_IDS = ["github", "github-oauth", "github-pat", "openai", "anthropic", "slack"]
TOKEN_IDS += ["aws", "google", "google-40-chars", "huggingface", "jwt", "npm"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--password", "hunter2"], ["--password", MASK]),
        (["--password=hunter2"], ["--password=" + MASK]),
        (["--api-key=abc123"], ["--api-key=" + MASK]),
        (["--api_key", "abc"], ["--api_key", MASK]),
        (["--apiKey", "abc"], ["--apiKey", MASK]),
        (["--apikey", "abc"], ["--apikey", MASK]),
        (["--token", "abc"], ["--token", MASK]),
        (["--hf-token", "abc"], ["--hf-token", MASK]),
        (["--secret", "abc"], ["--secret", MASK]),
        (["--aws-secret-access-key", "abc"], ["--aws-secret-access-key", MASK]),
        (["--access-key", "abc"], ["--access-key", MASK]),
        (["--private-key", "abc"], ["--private-key", MASK]),
        (["--passwd", "abc"], ["--passwd", MASK]),
        (["--pwd", "abc"], ["--pwd", MASK]),
        (["--auth", "user:pw"], ["--auth", MASK]),
        (["--credentials", "abc"], ["--credentials", MASK]),
        (
            ["--db-password", "abc", "--lr", "0.1"],
            ["--db-password", MASK, "--lr", "0.1"],
        ),
        (["API_KEY=abc"], ["API_KEY=" + MASK]),
        (["db.password=abc"], ["db.password=" + MASK]),
        (["+trainer.hf_token=abc"], ["+trainer.hf_token=" + MASK]),
        (["https://bob:pw@example.com/x"], [f"https://bob:{MASK}@example.com/x"]),
        (["--url=postgresql://bob:pw@db/x"], [f"--url=postgresql://bob:{MASK}@db/x"]),
        (
            ["--header", "Authorization: Bearer abcdefgh123"],
            ["--header", f"Authorization: Bearer {MASK}"],
        ),
    ],
    ids=[
        "password-space",
        "password-equals",
        "api-key-equals",
        "api_key",
        "camelCase",
        "apikey",
        "token",
        "hf-token",
        "secret",
        "aws-secret-access-key",
        "access-key",
        "private-key",
        "passwd",
        "pwd",
        "auth",
        "credentials",
        "rest-kept",
        "env-style-assignment",
        "hydra-dotted",
        "hydra-append",
        "url-password",
        "url-in-option",
        "bearer-header",
    ],
)
def test_redact_argv_masks_secrets(argv: list[str], expected: list[str]) -> None:
    assert redact_argv(argv) == expected


@pytest.mark.parametrize("token", TOKENS, ids=TOKEN_IDS)
def test_redact_argv_masks_known_token_formats(token: str) -> None:
    assert redact_argv(["train.py", token, f"--key={token}"]) == [
        "train.py",
        MASK,
        f"--key={MASK}",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["python", "train.py", "--lr", "0.01", "--epochs", "10"],
        ["-p", "8080"],
        ["--seed", "-1"],
        ["--commit", SHA],
        ["--run-id", UUID],
        ["--data", "/data/tokens.txt", "./secrets/README.md"],
        ["--tokenizer", "bert-base-uncased"],
        ["--max-tokens", "512", "--max_new_tokens", "64"],
        ["--pad_token_id", "0", "--eos-token", "</s>"],
        ["--author", "me"],
        ["--token-file", "/run/token", "--password-file", "pw.txt"],
        ["--use-auth-token", "--lr", "1e-3"],
        ["--password"],
        ["lr=0.1", "model.layers=12"],
        ["sk-learn", "task-a-very-long-experiment-name"],
        ["https://example.com:8080/path@v2", "git@github.com:acme/x.git"],
        ["--key", "value", "KEY=value"],
    ],
    ids=[
        "plain-training",
        "short-p",
        "negative-number",
        "git-sha",
        "uuid",
        "paths",
        "tokenizer",
        "max-tokens",
        "vocab-tokens",
        "author",
        "pointer-to-secret",
        "flag-without-value",
        "dangling-option",
        "hydra-overrides",
        "sk-lookalikes",
        "urls-without-password",
        "bare-key",
    ],
)
def test_redact_argv_keeps_ordinary_arguments(argv: list[str]) -> None:
    assert redact_argv(argv) == argv


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password=hunter2", f"password={MASK}"),
        ("Password: hunter2 ok", f"Password: {MASK} ok"),
        ("token: abc", f"token: {MASK}"),
        ('{"api_key": "abc", "lr": 0.1}', f'{{"api_key": "{MASK}", "lr": 0.1}}'),
        ("export DB_PASSWORD='p a s s'", f"export DB_PASSWORD='{MASK}'"),
        ("aws_secret_access_key = AbC/1+x", f"aws_secret_access_key = {MASK}"),
        ("client_secret: abcd, next: 1", f"client_secret: {MASK}, next: 1"),
        ("hfToken: abc", f"hfToken: {MASK}"),
        ("Authorization: Bearer abc.def", f"Authorization: Bearer {MASK}"),
        ("authorization: Basic dXNlcjpwYXNz", f"authorization: Basic {MASK}"),
        (
            "curl -H 'Authorization: token abc'",
            f"curl -H 'Authorization: token {MASK}'",
        ),
        ("got bearer abcdefgh12345678 back", f"got bearer {MASK} back"),
        (
            "db at postgres://bob:s3cret@db:5432/x",
            f"db at postgres://bob:{MASK}@db:5432/x",
        ),
        (
            f"push to https://{GITHUB}@github.com/x",
            f"push to https://{MASK}@github.com/x",
        ),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nend",
            f"{MASK}\nend",
        ),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nMIIE truncated", MASK),
        ("Ä password=x İ", f"Ä password={MASK} İ"),
    ],
    ids=[
        "password-equals",
        "password-colon",
        "token-colon",
        "json",
        "shell-quoted",
        "aws-secret",
        "client-secret",
        "camelCase",
        "bearer-header",
        "basic-header",
        "token-scheme",
        "bare-bearer",
        "url-password",
        "token-in-url",
        "pem-block",
        "pem-truncated",
        "non-ascii-around",
    ],
)
def test_redact_text_masks_secrets(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize("token", TOKENS, ids=TOKEN_IDS)
def test_redact_text_masks_known_token_formats(token: str) -> None:
    assert redact_text(f"INFO using {token} now") == f"INFO using {MASK} now"


@pytest.mark.parametrize(
    "text",
    [
        "epoch=3 step=1200 loss=0.2345 lr=0.001 acc=0.912",
        "max_tokens=512 tokens/s=1234 num_tokens: 9",
        "author: me tokenizer: bert pad_token_id: 0",
        f"commit {SHA} run {UUID}",
        "saved /data/runs/exp-1/ckpt.pt",
        "passwordless: true secret_name: db token_type: bearer",
        "if password == other:",
        "password:\nnext line",
        "the bearer of bad news",
        f"X{AWS} and {AWS}X",
        "https://example.com:8080/a@b",
    ],
    ids=[
        "metrics",
        "token-counts",
        "lookalike-keys",
        "sha-uuid",
        "path",
        "non-secret-suffixes",
        "comparison",
        "empty-value",
        "prose",
        "aws-inside-word",
        "port-not-password",
    ],
)
def test_redact_text_keeps_ordinary_text(text: str) -> None:
    assert redact_text(text) == text


def test_redact_text_is_idempotent() -> None:
    once = redact_text(f"password=x {GITHUB} https://u:p@h Authorization: Bearer abcdefgh1")
    assert redact_text(once) == once


def test_redact_text_masks_every_secret_of_a_10mb_log() -> None:
    line = "2024-05-01 INFO epoch=3 step=1200 loss=0.2345 max_tokens=512 tokenizer: bert\n"
    secret = f"WARN HF_TOKEN={HF} password: hunter2 url=postgres://u:p@db/x\n"
    log = (line * 99 + secret) * (10_000_000 // (len(line) * 100))
    out = redact_text(log)
    assert "hunter2" not in out
    assert HF not in out
    assert out.count(MASK) == 3 * log.count("WARN")


@pytest.mark.parametrize(
    ("name", "strict", "expected"),
    [
        ("DB_PASSWORD", False, True),
        ("--aws-secret-access-key", False, True),
        ("HFTOKEN", False, True),
        ("--token-file", False, False),
        ("pad_token", False, False),
        ("SSH_AUTH_SOCK", False, False),
        ("SSH_AUTH_SOCK", True, True),
        ("HF_TOKEN_PATH", True, True),
        ("CUDA_VISIBLE_DEVICES", True, False),
        ("", False, False),
    ],
    ids=[
        "password",
        "aws",
        "run-together",
        "pointer",
        "vocab",
        "auth-not-last",
        "strict-auth",
        "strict-pointer",
        "strict-harmless",
        "empty",
    ],
)
def test_is_secret_name(name: str, *, strict: bool, expected: bool) -> None:
    assert is_secret_name(name, strict=strict) is expected


def test_capture_env_keeps_only_allow_listed_variables() -> None:
    environ = {
        "CUDA_VISIBLE_DEVICES": "0,1",
        "PYTHONHASHSEED": "0",
        "LEDGER_RUN_ID": "01J0000000",
        "PATH": "/usr/bin",
        "HOME": "/root",
        "HF_TOKEN": HF,
    }
    assert capture_env(environ) == {
        "CUDA_VISIBLE_DEVICES": "0,1",
        "LEDGER_RUN_ID": "01J0000000",
        "PYTHONHASHSEED": "0",
    }


def test_capture_env_result_is_sorted() -> None:
    environ = {"TZ": "UTC", "OMP_NUM_THREADS": "4", "CUDA_VISIBLE_DEVICES": "0"}
    assert list(capture_env(environ)) == sorted(environ)


@pytest.mark.parametrize(
    ("allow", "expected"),
    [
        (["NCCL_*"], {"NCCL_DEBUG": "INFO", "NCCL_IB_DISABLE": "1"}),
        (["HOME"], {"HOME": "/root"}),
        (["*"], {"HOME": "/root", "NCCL_DEBUG": "INFO", "NCCL_IB_DISABLE": "1"}),
        (["nccl_*"], {}),
    ],
    ids=["glob", "exact-name", "everything", "case-sensitive"],
)
def test_capture_env_extra_allow(allow: list[str], expected: dict[str, str]) -> None:
    environ = {
        "NCCL_DEBUG": "INFO",
        "NCCL_IB_DISABLE": "1",
        "NCCL_SOCKET_PASSWORD": "x",
        "HOME": "/root",
        "WANDB_API_KEY": "k",
        "SSH_AUTH_SOCK": "/run/user/1000/agent",
        "HF_TOKEN_PATH": "/secrets/hf",
    }
    assert capture_env(environ, allow=allow) == expected


def test_capture_env_never_keeps_a_secret_name_even_when_named() -> None:
    environ = {"GITHUB_TOKEN": GITHUB, "AWS_SECRET_ACCESS_KEY": "x"}
    assert capture_env(environ, allow=["GITHUB_TOKEN", "AWS_*"]) == {}


def test_capture_env_redacts_allowed_values() -> None:
    environ = {"PYTHONPATH": "https://bob:pw@host/x", "SLURM_JOB_ID": GITHUB}
    assert capture_env(environ) == {
        "PYTHONPATH": f"https://bob:{MASK}@host/x",
        "SLURM_JOB_ID": MASK,
    }


def test_env_allow_list_has_no_secret_names_or_duplicates() -> None:
    assert len(set(ENV_ALLOW)) == len(ENV_ALLOW)
    assert not [name for name in ENV_ALLOW if is_secret_name(name, strict=True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("argv: --password hunter2 --lr 0.1", f"argv: --password {MASK} --lr 0.1"),
        ("--hf_token X --epochs 3", f"--hf_token {MASK} --epochs 3"),
        ("connecting with --api-key 'a b'", f"connecting with --api-key '{MASK}'"),
        ("-p 8080 --db-passwd s3cr3t", f"-p 8080 --db-passwd {MASK}"),
        ("+ python t.py --secret abc\n", f"+ python t.py --secret {MASK}\n"),
    ],
    ids=["password", "hf_token-short-value", "quoted", "passwd", "shell-trace"],
)
def test_redact_text_masks_an_option_and_its_value_as_printed(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "--token-file /run/token --password-file pw.txt",
        "--use-auth-token --lr 1e-3",
        "--max-tokens 512 --max_new_tokens 64 --num-tokens 7",
        "--tokenizer bert-base-uncased --secret-santa-count 3",
        "tokenizer=bert max_tokens=512 num_tokens=7 secret_santa_count=3",
        "processed 1200 tokens per second; auth ok",
        "the password was rotated; use a token from the vault",
        "--password --lr 0.1",
    ],
    ids=[
        "pointers",
        "flag-then-option",
        "token-counts",
        "lookalike-options",
        "lookalike-assignments",
        "prose-words",
        "prose-sentence",
        "option-without-value",
    ],
)
def test_redact_text_keeps_options_that_are_not_secret(text: str) -> None:
    assert redact_text(text) == text


def test_known_secrets_are_what_the_command_masks_and_secret_env_values() -> None:
    argv = ["python", "t.py", "--password", "hunter2", "--url=postgres://u:pgpass1@db/x", "--lr", "0.1"]
    environ = {
        "WANDB_API_KEY": "wandb-123456",
        "HF_TOKEN": "short",
        "DB_PASSWORD": "1200000",
        "PATH": "/usr/bin",
    }

    assert known_secrets(argv, environ) == {"hunter2", "pgpass1", "wandb-123456"}


def test_redact_text_masks_known_secrets_wherever_they_are_printed() -> None:
    known = frozenset({"hunter2", "wandb-123456"})
    text = "using wandb-123456 now\nNamespace(pw=hunter2)\nhunter22 and xhunter2 stay\n"

    assert redact_text(text, known) == f"using {MASK} now\nNamespace(pw={MASK})\nhunter22 and xhunter2 stay\n"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("password", "hunter2", MASK),
        ("db.password", 1234, MASK),
        ("wandb.api_key", "abc", MASK),
        ("hub.hf_token", HF, MASK),
        ("model", f"org/model?token={HF}", f"org/model?token={MASK}"),
        ("url", "https://u:pw@host/x", f"https://u:{MASK}@host/x"),
        ("headers", ["a", GITHUB], ["a", MASK]),
        ("service", {"api_key": "x", "port": 1}, {"api_key": MASK, "port": 1}),
        ("use_auth_token", True, True),
        ("token", None, None),
    ],
    ids=["password", "number", "nested", "hf", "text", "url", "list", "dict", "bool", "null"],
)
def test_redact_param_masks_secret_values(key: str, value: object, expected: object) -> None:
    assert redact_param(key, value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("tokenizer", "bert-base-uncased"),
        ("max_tokens", 512),
        ("num_tokens", 7),
        ("secret_santa_count", 3),
        ("model.pad_token", "<pad>"),
        ("author", "me"),
        ("token_file", "/run/token"),
        ("lr", 0.1),
    ],
)
def test_redact_param_keeps_params_that_only_look_secret(key: str, value: object) -> None:
    assert redact_param(key, value) == value  # type: ignore[arg-type]
