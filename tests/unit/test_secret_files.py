"""Unit tests for ledger.git.secret_files: which files a snapshot ref must never hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ledger.git.secret_files import SCAN_MAX_BYTES, credential_file, find_secret, secret_in_file

if TYPE_CHECKING:
    from pathlib import Path

GITHUB = "ghp_" + "a1B2" * 9
AWS = "AKIAIOSFODNN7EXAMPLE"


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        (".npmrc", ".npmrc"),
        ("web/.npmrc", ".npmrc"),
        ("kaggle.json", "kaggle.json"),
        (".aws/credentials", ".aws/*"),
        ("home/.aws/config", ".aws/*"),
        (".docker/config.json", ".docker/config.json"),
        (".git-credentials", ".git-credentials"),
        (".netrc", ".netrc"),
        (".pypirc", ".pypirc"),
        (".env.local", ".env*"),
        ("deploy/.envrc", ".env*"),
        ("secrets.json", "secrets.json"),
        (".config/gcloud/application_default_credentials.json", "gcloud/*"),
        ("client_secret_1234.apps.googleusercontent.com.json", "client_secret*.json"),
        ("keys/id_ed25519", "id_ed25519*"),
        ("certs/server.pem", "*.pem"),
    ],
)
def test_credential_files_are_named_by_their_pattern(path: str, pattern: str) -> None:
    assert credential_file(path) == pattern


@pytest.mark.parametrize(
    "path",
    [
        "config.json",
        "docker/config.json",
        "conf/config.local.yaml",
        "src/secrets_manager.py",
        "tokenizer.json",
        "environment.yml",
        "aws/train.py",
        "data/keys.csv",
        "credentials.md",
    ],
)
def test_ordinary_files_are_not_credential_files(path: str) -> None:
    assert credential_file(path) is None


def test_secret_in_file_reads_small_text_files(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text(f"rotate {GITHUB} next week\n")
    config = tmp_path / "config.local.yaml"
    config.write_text("database:\n  password: hunter2\n")
    code = tmp_path / "train.py"
    code.write_text("password = getpass.getpass()\nprint('password: hunter2 is bad')\n")

    found = {p.name: secret_in_file(p, p.stat().st_size) for p in (notes, config, code)}

    assert found == {
        "notes.txt": "GitHub token",
        "config.local.yaml": "value of 'password'",
        "train.py": None,
    }


def test_secret_in_file_skips_binary_and_big_files(tmp_path: Path) -> None:
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"\0\1" + GITHUB.encode())
    big = tmp_path / "corpus.txt"
    big.write_text("x" * SCAN_MAX_BYTES + GITHUB)

    assert secret_in_file(binary, binary.stat().st_size) is None
    assert secret_in_file(big, big.stat().st_size) is None


@pytest.mark.parametrize(
    ("text", "config", "kind"),
    [
        (f"token = '{GITHUB}'", False, "GitHub token"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n",
            False,
            "private key",
        ),
        ('{"type": "service_account", "project_id": "p"}', True, "service-account key"),
        ("db = 'postgres://u:hunter2@db/x'", False, "password in a URL"),
        ("database:\n  password: hunter2\n", True, "value of 'password'"),
        ("//registry.npmjs.org/:_authToken=abc123\n", True, "value of '_authToken'"),
        ('API_KEY = "abc123"\n', False, "value of 'API_KEY'"),
        (f"key: {AWS}", True, "AWS access key"),
    ],
    ids=["token", "pem", "service-account", "url", "yaml-pair", "npmrc", "quoted-in-code", "aws"],
)
def test_find_secret_names_the_kind(text: str, *, config: bool, kind: str) -> None:
    assert find_secret(text, config=config) == kind


@pytest.mark.parametrize(
    ("text", "config"),
    [
        ("password = getpass.getpass()\ntoken = tok.encode(password)\n", False),
        ("password: hunter2\n", False),
        ("tokenizer: bert\nmax_tokens: 512\npad_token: '<pad>'\nsecret_santa_count: 3\n", True),
        ("password: ${DB_PASSWORD}\napi_key: null\ntoken: ''\nauth: true\n", True),
        ('parser.add_argument("--password", help="the db password")\n', False),
        ("password: ***\n", True),
        ("lr: 0.1\nepochs: 3\n", True),
    ],
    ids=[
        "code-reading-secrets",
        "unquoted-pair-in-code",
        "lookalike-keys",
        "placeholders",
        "argparse",
        "already-masked",
        "params",
    ],
)
def test_find_secret_finds_nothing_in_ordinary_files(text: str, *, config: bool) -> None:
    assert find_secret(text, config=config) is None
