"""The README documents every command: its CLI reference is generated from `--help`.

Run with UPDATE_DOCS=1 to rewrite the section after changing the CLI.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from tests.helpers import ledger

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"


def _help(*args: str) -> str:
    return ledger(*args, "--help", env={"COLUMNS": "100"}).stdout.rstrip()


def _commands() -> list[list[str]]:
    from ledger.cli.main import _parser

    parser = _parser()
    found: list[list[str]] = []
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, child in sub.choices.items():
        nested = [a for a in child._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            found += [[name, inner] for inner in nested[0].choices]
        else:
            found.append([name])
    return found


def _reference() -> str:
    parts = [START, "", "```text", "$ ledger --help", _help(), "```"]
    for command in _commands():
        parts += ["", "```text", f"$ ledger {' '.join(command)} --help", _help(*command), "```"]
    return "\n".join([*parts, "", END])


def test_readme_cli_reference_is_current() -> None:
    text = README.read_text()
    current = re.search(re.escape(START) + ".*?" + re.escape(END), text, re.DOTALL)
    assert current, "README.md lacks the CLI reference markers"
    expected = _reference()
    if os.environ.get("UPDATE_DOCS") == "1":
        README.write_text(text.replace(current.group(0), expected))
        return
    assert current.group(0) == expected, "CLI changed: run UPDATE_DOCS=1 pytest tests/test_docs.py"


def test_every_command_is_described_in_prose() -> None:
    text = README.read_text().split(START)[0]
    missing = [" ".join(c) for c in _commands() if f"ledger {' '.join(c)}" not in text]
    assert missing == []


def test_quick_start_has_exactly_two_commands() -> None:
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:sh|bash)\n(.*?)```", section, re.DOTALL)
    assert block
    commands = [line for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["./dev demo", "./dev test"]


def test_ci_runs_the_readme_test_command() -> None:
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()


def test_every_hook_id_is_documented() -> None:
    from ledger.setup.hook_specs import HOOKS

    text = README.read_text()
    assert [h.id for h in HOOKS if f"`{h.id}`" not in text] == []
