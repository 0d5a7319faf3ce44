"""What each of the ledger's git hooks hands over to pre-commit: the config's other hooks."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest
from ruamel.yaml import YAML

from ledger.setup.hook_config import chained_config, key, plan_path, write_plans

if TYPE_CHECKING:
    from pathlib import Path

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
  - id: ledger-check-results
    name: check
    entry: ledger-hook check-results
    language: system
    stages: [pre-commit]
"""


def _repos(text: str | None) -> list[str]:
    assert text is not None
    return [r["repo"] for r in YAML(typ="safe", pure=True).load(text)["repos"]]


def test_post_commit_hands_over_only_the_hooks_that_name_it() -> None:
    copy = chained_config(CONFIG, "post-commit")

    assert _repos(copy) == ["https://github.com/example/notify"]
    assert "ledger-post-commit" not in (copy or "")
    assert YAML(typ="safe", pure=True).load(copy or "")["default_language_version"] == {"python": "python3"}


def test_a_type_no_other_hook_names_hands_over_nothing() -> None:
    assert chained_config(CONFIG, "prepare-commit-msg") is None
    assert chained_config(CONFIG, "post-rewrite") is None


def test_pre_commit_hands_over_hooks_without_stages_but_not_the_ledgers() -> None:
    copy = chained_config(CONFIG, "pre-commit")

    assert _repos(copy) == ["https://github.com/pre-commit/pre-commit-hooks", "meta"]
    assert "ledger-check-results" not in (copy or "")


def test_default_stages_and_old_stage_names_count() -> None:
    config = CONFIG.replace("repos:", "default_stages: [commit, prepare-commit-msg]\nrepos:", 1)

    assert _repos(chained_config(config, "prepare-commit-msg")) == [
        "https://github.com/pre-commit/pre-commit-hooks",
        "meta",
    ]


def test_only_the_ledgers_hooks_hand_over_nothing() -> None:
    config = "repos:\n- repo: local\n  hooks:\n  - id: ledger-check-results\n    stages: [pre-commit]\n"

    assert chained_config(config, "pre-commit") is None


@pytest.mark.parametrize("text", ["repos: [", "just a string"])
def test_a_config_pre_commit_cannot_read_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="pre-commit-config"):
        chained_config(text, "post-commit")


def test_the_plans_are_found_under_the_key_the_shell_computes(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    with config.open("rb") as f:
        crc, size = subprocess.run(
            ["cksum"], stdin=f, capture_output=True, text=True, check=True
        ).stdout.split()

    write_plans(tmp_path / "ledger", config.read_bytes())

    assert key(config.read_bytes()) == f"{crc}-{size}"
    assert plan_path(tmp_path / "ledger", f"{crc}-{size}", "prepare-commit-msg").read_bytes() == b""
    assert "notify-on-commit" in plan_path(tmp_path / "ledger", f"{crc}-{size}", "post-commit").read_text()
