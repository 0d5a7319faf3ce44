"""The hook manifest and the `.pre-commit-config.yaml` merge of `ledger init` (pure, no git)."""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path
from typing import Any

import pytest
from pre_commit.clientlib import (  # pre-commit ships no types
    load_config,
    load_manifest,
)
from ruamel.yaml import YAML

from ledger.core.errors import InstallError
from ledger.setup.hook_specs import HOOKS, HookSpec
from ledger.setup.install import register, select_hooks
from ledger.setup.precommit_config import merge_config, plan_config

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

FOUR_SPACES = """\
# See https://pre-commit.com for more information
default_language_version:
    python: python3.11   # pinned
exclude: |
    (?x)^(
        docs/.*|
        build/.*
    )$
repos:
    -   repo: https://github.com/pre-commit/pre-commit-hooks
        rev: v4.6.0
        hooks:
            -   id: trailing-whitespace
            -   id: check-yaml
                args: [--allow-multiple-documents, "--unsafe"]

    # ruff below
    -   repo: https://github.com/astral-sh/ruff-pre-commit
        rev: 'v0.8.0'  # keep in sync
        hooks:
            -   id: ruff
                args: ['--fix']
# trailing comment
"""

MIXED_LAYOUT = """\
minimum_pre_commit_version: 2.15.0
default_stages: [
    pre-commit,
    pre-push
]
ci:
    autofix_prs: false
repos:
-   repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.1.8
    hooks:
    -   id: ruff
        args: [--exit-non-zero-on-fix]
-   repo: https://github.com/jendrikseipp/vulture
    rev: 'v2.10'
    hooks:
      - id: vulture
        args:
          [
              '--min-confidence',
              '80',
          ]
-   repo: local
    hooks:
    -   id: pyright
        name: pyright
        entry: pyright
        language: node
        additional_dependencies: &deps
        - pyright@1.1.339
    -   id: pyright-strict
        name: pyright strict
        entry: pyright --level warning
        language: node
        additional_dependencies: *deps
"""

COMMENT_BEFORE_NEXT_KEY = """\
repos:
  - repo: meta
    hooks:
      - id: identity  # shows the files

# CI settings for pre-commit.ci
ci:
  skip: [identity]
"""

EXISTING = {"four-spaces": FOUR_SPACES, "mixed-layout": MIXED_LAYOUT, "comment": COMMENT_BEFORE_NEXT_KEY}


def _load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _local_hooks(text: str) -> list[dict[str, object]]:
    repos = _load(text)["repos"]
    assert isinstance(repos, list)
    return [h for r in repos if r["repo"] == "local" for h in r["hooks"] if h["id"].startswith("ledger-")]


def _only_insertions(before: str, after: str) -> list[str]:
    """The lines `after` adds to `before`; fails if any line of `before` changed."""
    ops = difflib.SequenceMatcher(
        None, before.splitlines(keepends=True), after.splitlines(keepends=True), autojunk=False
    ).get_opcodes()
    assert all(tag in ("equal", "insert") for tag, *_ in ops), ops
    lines = after.splitlines(keepends=True)
    return [line for tag, _, _, j1, j2 in ops if tag == "insert" for line in lines[j1:j2]]


def _validate(text: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    load_config(str(path))  # raises InvalidConfigError


def test_manifest_is_valid_for_pre_commit() -> None:
    hooks = load_manifest(str(MANIFEST))
    assert len(hooks) == len(HOOKS)


def test_manifest_matches_hook_specs_exactly() -> None:
    manifest = _load(MANIFEST.read_text())
    assert isinstance(manifest, list)
    expected = [
        {
            "id": h.id,
            "name": h.name,
            "description": h.description,
            "entry": f"ledger-hook {h.command}",
            "language": "python",
            "stages": [h.stage],
            "always_run": True,
            "pass_filenames": h.pass_filenames,
            **({"verbose": True} if h.verbose else {}),
            "minimum_pre_commit_version": "3.2.0",
        }
        for h in HOOKS
    ]
    assert manifest == expected


def test_new_config_holds_every_hook_as_local_system_hooks(tmp_path: Path) -> None:
    text = merge_config(None, HOOKS)
    _validate(text, tmp_path)
    data = _load(text)
    assert data["default_install_hook_types"] == [h.stage for h in HOOKS]
    assert data["repos"] == [
        {
            "repo": "local",
            "hooks": [
                {
                    "id": h.id,
                    "name": h.name,
                    "entry": h.entry,
                    "language": "system",
                    "stages": [h.stage],
                    "always_run": True,
                    "pass_filenames": h.pass_filenames,
                    **({"verbose": True} if h.verbose else {}),
                }
                for h in HOOKS
            ],
        }
    ]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n"], ids=["empty", "comment", "braces"])
def test_empty_config_gets_our_block(text: str, tmp_path: Path) -> None:
    merged = merge_config(text, HOOKS)
    _validate(merged, tmp_path)
    assert [h["id"] for h in _local_hooks(merged)] == [h.id for h in HOOKS]
    assert merged.startswith("# only a comment\n") == text.startswith("#")


@pytest.mark.parametrize("name", list(EXISTING))
def test_merge_only_adds_lines_to_an_existing_config(name: str, tmp_path: Path) -> None:
    original = EXISTING[name]
    merged = merge_config(original, HOOKS)
    _validate(merged, tmp_path)
    added = _only_insertions(original, merged)
    assert added[0].lstrip().startswith("default_install_hook_types:")
    assert any(line.strip() == "- repo: local" or line.strip() == "-   repo: local" for line in added)
    assert [h["id"] for h in _local_hooks(merged)] == [h.id for h in HOOKS]
    # everything that was there is still there, unchanged
    data, before = _load(merged), _load(original)
    assert {k: v for k, v in data.items() if k not in ("repos", "default_install_hook_types")} == {
        k: v for k, v in before.items() if k != "repos"
    }
    assert data["repos"][: len(before["repos"])] == before["repos"]


@pytest.mark.parametrize("name", list(EXISTING))
def test_merge_is_idempotent(name: str) -> None:
    once = merge_config(EXISTING[name], HOOKS)
    assert merge_config(once, HOOKS) == once
    assert not plan_config(once, HOOKS).changed


def test_added_block_follows_the_file_layout() -> None:
    merged = merge_config(FOUR_SPACES, HOOKS)
    assert "\n    -   repo: local\n        hooks:\n            -   id: ledger-post-commit\n" in merged


def test_comment_introducing_the_next_key_stays_before_it() -> None:
    merged = merge_config(COMMENT_BEFORE_NEXT_KEY, HOOKS)
    assert merged.index("pass_filenames") < merged.index("# CI settings") < merged.index("ci:")
    assert "      - id: identity  # shows the files\n" in merged


def test_trailing_comment_stays_at_the_end() -> None:
    assert merge_config(FOUR_SPACES, HOOKS).endswith("# trailing comment\n")


def test_existing_hook_types_are_kept_and_extended() -> None:
    text = "default_install_hook_types: [pre-push]\nrepos: []\n"
    plan = plan_config(text, HOOKS[:1])
    assert _load(plan.text)["default_install_hook_types"] == ["pre-push", "post-commit"]
    assert plan.hook_types_added == ("post-commit",)


def test_missing_hook_types_keep_pre_commits_default_for_other_hooks() -> None:
    merged = merge_config(COMMENT_BEFORE_NEXT_KEY, HOOKS[:1])
    assert _load(merged)["default_install_hook_types"] == ["pre-commit", "post-commit"]


def test_outdated_hook_is_updated_in_place_keeping_user_keys() -> None:
    spec = HOOKS[0]
    text = merge_config(None, [spec]).replace(spec.entry, "old-entry")
    text = text.replace(
        "        pass_filenames: false\n", "        pass_filenames: false\n        verbose: true\n"
    )
    plan = plan_config(text, [spec])
    assert plan.updated == (spec.id,)
    assert plan.added == ()
    diff = [
        line
        for line in difflib.unified_diff(text.splitlines(), plan.text.splitlines(), lineterm="", n=0)
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    assert diff == ["-        entry: old-entry", f"+        entry: {spec.entry}"]
    [hook] = _local_hooks(plan.text)
    assert hook["verbose"] is True


def test_missing_hooks_join_the_local_entry_that_holds_ours() -> None:
    text = merge_config(COMMENT_BEFORE_NEXT_KEY, HOOKS[:1])
    merged = merge_config(text, HOOKS)
    repos = _load(merged)["repos"]
    assert isinstance(repos, list)
    assert [r["repo"] for r in repos] == ["meta", "local"]
    assert [h["id"] for h in repos[1]["hooks"]] == [h.id for h in HOOKS]
    assert merged.index("ledger-check-results") < merged.index("# CI settings")


def test_user_local_entry_without_our_hooks_is_left_alone() -> None:
    text = (
        "repos:\n  - repo: local\n    hooks:\n      - id: mine\n"
        "        name: mine\n        entry: 'true'\n        language: system\n"
    )
    merged = merge_config(text, HOOKS)
    repos = _load(merged)["repos"]
    assert isinstance(repos, list)
    assert [len(r["hooks"]) for r in repos] == [1, len(HOOKS)]


def test_hooks_used_from_our_repository_are_not_duplicated() -> None:
    text = (
        "repos:\n  - repo: https://github.com/example/exp-ledger\n    rev: v0.1.0\n"
        "    hooks:\n      - id: ledger-post-commit\n"
    )
    plan = plan_config(text, HOOKS[:2])
    assert plan.added == ("ledger-prepare-commit-msg",)
    assert [h["id"] for h in _local_hooks(plan.text)] == ["ledger-prepare-commit-msg"]


def test_line_endings_and_missing_final_newline_are_kept() -> None:
    crlf = "repos:\r\n  - repo: meta\r\n    hooks:\r\n      - id: identity\r\n"
    merged = merge_config(crlf, HOOKS)
    assert merged.startswith("default_install_hook_types:")
    assert "\n" not in merged.replace("\r\n", "")
    assert merged.replace("\r\n", "\n") == merge_config(crlf.replace("\r\n", "\n"), HOOKS)
    bare = "repos:\n  - repo: meta\n    hooks:\n      - id: identity"
    assert _only_insertions(bare + "\n", merge_config(bare, HOOKS))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("repos: [\n", "not valid YAML"),
        ("- repo: local\n", "not a mapping"),
        ("repos: local\n", "`repos`"),
        ("default_install_hook_types: pre-commit\nrepos: []\n", "default_install_hook_types"),
    ],
    ids=["invalid-yaml", "list", "repos-not-a-list", "hook-types-not-a-list"],
)
def test_unusable_config_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InstallError, match=message):
        merge_config(text, HOOKS)


def test_plan_reports_what_it_adds() -> None:
    plan = plan_config(None, HOOKS)
    assert plan.added == tuple(h.id for h in HOOKS)
    assert plan.updated == ()
    assert plan.hook_types_added == tuple(h.stage for h in HOOKS)


def test_default_selection_is_the_default_hooks() -> None:
    assert select_hooks(None) == tuple(h for h in HOOKS if h.default)
    assert select_hooks(["post-rewrite"]) == tuple(h for h in HOOKS if h.stage == "post-rewrite")


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ledger")
    register(parser.add_subparsers())
    return parser.parse_args(["init", *argv])


def test_stages_option_takes_comma_separated_and_repeated_values() -> None:
    args = _parse("--stages", "post-commit,post-rewrite", "--stages", "pre-commit")
    assert args.stages == ["post-commit", "post-rewrite", "pre-commit"]
    assert _parse().stages is None


def test_unknown_stage_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _parse("--stages", "post-merge")
    assert exc.value.code == 2
    assert "unknown stage post-merge: choose from" in capsys.readouterr().err


def test_hook_specs_use_stages_pre_commit_can_install() -> None:
    from pre_commit.clientlib import HOOK_TYPES

    spec: HookSpec
    for spec in HOOKS:
        assert spec.stage in HOOK_TYPES


def test_the_shell_hook_writes_the_commit_event_python_reads() -> None:
    """hooks/hook.sh runs `git` with the arguments inbox.COMMIT_LOG names (one format, two writers)."""
    from ledger.commits.inbox import COMMIT_LOG
    from ledger.setup.install import hook_script

    script = hook_script().read_text()
    args = " ".join(a if "%" not in a else a.replace("--format=", "--format='") + "'" for a in COMMIT_LOG)

    assert f"git {args} HEAD" in script
