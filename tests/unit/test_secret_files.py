"""Unit tests for ledger.secret_files: which files a snapshot ref must never hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ledger.secret_files import SCAN_MAX_BYTES, credential_file, secret_in_file

if TYPE_CHECKING:
    from pathlib import Path

GITHUB = "ghp_" + "a1B2" * 9


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
