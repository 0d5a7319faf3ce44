"""Keep credentials out of snapshot refs, which are pushed like any other ref.

A file named like a credential store is left out whatever the config says, and a
small untracked text file is read first: one holding a private key, a known token
or a password is left out too. The run's record lists each with its reason.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ledger.core.redact import KNOWN_FORMATS, URL_PASSWORD, is_literal, secret_pairs

if TYPE_CHECKING:
    from pathlib import Path

CREDENTIAL_FILES = (
    # Package registries and git hosts.
    ".npmrc",
    ".yarnrc",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".dockercfg",
    ".docker/config.json",
    # Clouds and platforms.
    ".aws/*",
    "gcloud/*",
    "application_default_credentials.json",
    "client_secret*.json",
    "credentials.json",
    ".kube/config",
    ".databrickscfg",
    ".s3cfg",
    ".boto",
    "kaggle.json",
    "huggingface/token",
    # Databases and web servers.
    ".pgpass",
    ".my.cnf",
    ".htpasswd",
    # Environment files and secret stores.
    ".env*",
    "secrets.json",
    "secrets.yaml",
    "secrets.yml",
    "secrets.toml",
    # Keys.
    ".ssh/*",
    ".gnupg/*",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.ppk",
    "*.jks",
    "*.keystore",
)
"""Never put in a snapshot, whatever `snapshot_deny` says. A pattern without `/` is
matched against the file's name, one with `/` against the end of its path."""

SCAN_MAX_BYTES = 1024 * 1024
"""Untracked files up to this size are read for secrets; bigger ones are data."""

_CONFIG_SUFFIXES = frozenset(
    {"", ".yaml", ".yml", ".json", ".toml", ".ini", ".cfg", ".conf", ".env", ".properties", ".txt"}
)
"""Where `password: x` means a password; in code it may be `password: str`."""
_SERVICE_ACCOUNT = re.compile(r"\"type\"\s*:\s*\"service_account\"")


def credential_file(path: str) -> str | None:
    """The `CREDENTIAL_FILES` pattern `path` (relative to the work tree) matches, if any."""
    name = path.rsplit("/", 1)[-1]
    for pattern in CREDENTIAL_FILES:
        if "/" in pattern:
            if fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, f"*/{pattern}"):
                return pattern
        elif fnmatch.fnmatchcase(name, pattern):
            return pattern
    return None


def secret_in_file(full: Path, size: int) -> str | None:
    """What kind of secret a small text file holds, or None (binary, big, unreadable)."""
    if size > SCAN_MAX_BYTES:
        return None
    try:
        raw = full.read_bytes()
    except OSError:
        return None
    if b"\0" in raw[:8192]:
        return None
    config = PurePosixPath(full.name).suffix.lower() in _CONFIG_SUFFIXES or full.name.startswith(".")
    return find_secret(raw.decode("utf-8", errors="replace"), config=config)


def find_secret(text: str, *, config: bool) -> str | None:
    """What kind of secret `text` holds, or None; the secret itself is never named.

    Known token formats, private keys, service-account keys and URL passwords count
    anywhere. A literal value under a secret-looking key counts when quoted
    (`password = "x"` in code), or in any form in a config file (`config`:
    `password: x`, `_authToken=x`); `token = get_token()` does not.
    """
    for name, pattern in KNOWN_FORMATS:
        if pattern.search(text):
            return name
    if _SERVICE_ACCOUNT.search(text):
        return "service-account key"
    if URL_PASSWORD.search(text):
        return "password in a URL"
    for key, pair in secret_pairs(text):
        value = pair["value"]
        if (value[0] in "\"'" or config) and is_literal(value.strip("\"'")):
            return f"value of {key.lstrip('-')!r}"
    return None
