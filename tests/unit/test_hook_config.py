"""The offline copy of a pre-commit config: what the ledger's git hook types run from."""

from __future__ import annotations

from ruamel.yaml import YAML

from ledger.hook_config import offline_config

TYPES = ("post-commit", "prepare-commit-msg", "post-rewrite")

CONFIG = """\
default_language_version:
  python: python3
repos:
- repo: https://github.com/pre-commit/pre-commit-hooks
  rev: v4.6.0
  hooks:
  - id: trailing-whitespace
- repo: https://github.com/example/notify
  rev: v1.0.0
  hooks:
  - id: notify-on-commit
    stages: [post-commit]
- repo: meta
  hooks:
  - id: identity
- repo: local
  hooks:
  - id: ledger-post-commit
    name: link
    entry: ledger-hook post-commit
    language: system
    stages: [post-commit]
"""


def test_the_copy_keeps_what_needs_no_download_and_hooks_placed_at_our_stages() -> None:
    copy = offline_config(CONFIG, TYPES)

    assert copy is not None
    data = YAML(typ="safe", pure=True).load(copy)
    assert [r["repo"] for r in data["repos"]] == ["https://github.com/example/notify", "meta", "local"]
    assert data["default_language_version"] == {"python": "python3"}


def test_a_config_without_remote_repositories_needs_no_copy() -> None:
    local_only = CONFIG.split("- repo: meta", 1)[1]

    assert offline_config("repos:\n- repo: meta" + local_only, TYPES) is None
