"""One way to run git: one runner, one list of location variables, one ref namespace.

Read from the sources, so that a second runner or a second spelling fails here rather
than drifting apart unnoticed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ledger.git.command import GIT_LOCATION_VARS
from ledger.git.refs import NAMESPACE, REF_SPEC, SNAPSHOT_REF_PREFIX, snapshot_ref

ROOT = Path(__file__).resolve().parents[2]
SHELL_HOOKS = sorted((ROOT / "hooks").glob("*.sh"))
PYTHON = sorted(p for folder in ("ledger", "hooks", "tui") for p in (ROOT / folder).rglob("*.py"))


def _unset(script: Path) -> set[str]:
    return set(re.findall(r"-u (GIT_\w+)", script.read_text()))


def test_the_shell_hook_unsets_the_location_variables_python_scrubs() -> None:
    assert _unset(ROOT / "hooks" / "hook.sh") == set(GIT_LOCATION_VARS)


@pytest.mark.parametrize("script", SHELL_HOOKS, ids=lambda p: p.name)
def test_no_shell_script_unsets_another_set(script: Path) -> None:
    assert _unset(script) in (set(), set(GIT_LOCATION_VARS))


def test_the_ref_namespace_holds_every_ledger_ref() -> None:
    assert NAMESPACE == "refs/ledger/"
    assert snapshot_ref("0123abcd") == "refs/ledger/runs/0123abcd"
    assert snapshot_ref("x").startswith(SNAPSHOT_REF_PREFIX)
    assert SNAPSHOT_REF_PREFIX.startswith(NAMESPACE)
    assert REF_SPEC == "refs/ledger/*:refs/ledger/*"


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants that are code, with their lines: not a docstring (of a module,
    class, function or attribute), which is a string standing alone as a statement."""
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
    ]


def test_the_ref_namespace_is_spelled_in_one_module() -> None:
    spelled = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in PYTHON
        if path != ROOT / "ledger" / "git" / "refs.py"
        for line, text in _strings(ast.parse(path.read_text(), str(path)))
        if "refs/ledger" in text
    ]
    assert spelled == []


def test_every_git_process_starts_in_the_runner() -> None:
    """No `["git", ...]` command line anywhere but `ledger.git.command`."""
    started = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in PYTHON
        if path != ROOT / "ledger" / "git" / "command.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.List | ast.Tuple)
        and node.elts
        and isinstance(node.elts[0], ast.Constant)
        and node.elts[0].value == "git"
    ]
    assert started == []
