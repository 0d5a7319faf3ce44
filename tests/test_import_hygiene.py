"""What each entry point imports: hooks and short commands must start fast."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sqlalchemy", "alembic", "git", "dvc", "textual", "torch")


def _imported_after(code: str, *, cwd: Path | None = None) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import ledger",
        "import ledger.cli.main",
        "import ledger.store.workspace",
        "import ledger.delivery.spool",
        "import ledger.reproduce.command",
        "import ledger.hooks.runs_match, ledger.hooks.check_results, ledger.hooks.prepare_commit_msg",
        "from ledger.setup.hook_config import plans; plans(b'repos: []')",
    ],
    ids=["package", "cli", "workspace", "spool", "reproduce", "commit-hooks", "hook-chains"],
)
def test_light_modules_import_nothing_heavy(code: str) -> None:
    assert _imported_after(code) & set(HEAVY) == set()


HOOK_MODULES = sorted(
    f"ledger.hooks.{path.stem}" for path in (ROOT / "hooks").glob("*.py") if path.stem != "__main__"
)


@pytest.mark.parametrize("module", HOOK_MODULES)
def test_every_hook_module_imports_nothing_heavy(module: str) -> None:
    """A module added to hooks/ later is held to the same budget without anyone listing it."""
    assert _imported_after(f"import {module}") & set(HEAVY) == set()


def test_ledger_list_loads_nothing_heavy(tmp_repo) -> None:
    """Not even SQLAlchemy: a SQLite ledger that needs no write is read with sqlite3."""
    code = "from ledger.cli.main import main\nmain(['list', 'metrics.acc > 0.5', '--sort=-metrics.acc'])"
    _imported_after(code, cwd=tmp_repo.root)  # the first open creates the ledger (Alembic)

    loaded = _imported_after(code, cwd=tmp_repo.root)

    assert loaded & set(HEAVY) == set()


def test_ledger_list_leaves_out_what_only_other_commands_use(tmp_repo) -> None:
    """`ledger list`'s milliseconds are measured against `dvc exp show`: each of these costs some."""
    code = "from ledger.cli.main import main\nmain(['list', '--all'])"
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_repo.root, check=True, capture_output=True)

    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_repo.root
    )

    loaded = set(out.stdout.split())
    assert "ledger.core.summary" in loaded
    assert loaded & {"ledger.core.records", "pickle", "socket", "tomllib"} == set()


def test_a_python_api_run_never_sets_up_the_orm(tmp_repo) -> None:
    """The API writes through SQLAlchemy Core: the ORM's one-time mapper set-up would land on
    the run's close, which is timed against MLflow's `log_batch`."""
    code = (
        "import ledger\n"
        "with ledger.start_run(name='core-only', params={'lr': 0.1}):\n"
        "    ledger.log_metrics({'loss': 0.5, 'acc': 0.9}, step=0)\n"
        "from ledger.store import tables\n"
        "print(tables.RunRow.__mapper__.configured)"
    )

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_repo.root
    )

    assert out.stdout.split() == ["False"]


def test_core_never_imports_its_shells() -> None:
    """`ledger/` must not depend on hooks/ or tui/ (they are mapped into ledger.*)."""
    offenders = []
    for path in (ROOT / "ledger").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.startswith(("ledger.hooks", "ledger.tui", "textual")):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_ledger_run_captures_without_gitpython_or_importlib_metadata(tmp_repo) -> None:
    """The capture only runs git commands and reads metadata files: importing GitPython or
    importlib.metadata for that would cost `ledger run` more than the capture itself."""
    code = (
        "import sys\n"
        "from ledger.cli.main import main\n"
        "try:\n"
        "    main(['run', '--', sys.executable, '-c', 'pass'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)))"
    )

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_repo.root
    )

    loaded = set(out.stdout.split())
    assert "ledger.capture.collect" in loaded
    assert loaded & {"git", "importlib.metadata", "email"} == set()


def test_framework_log_readers_import_no_framework() -> None:
    """TensorBoard files are read without TensorFlow, torch's writer or protobuf."""
    code = "import ledger.capture.framework_logs, ledger.capture.framework_logs.tfevents, ledger.capture.framework_logs.rows"

    loaded = _imported_after(code)

    assert loaded & {*HEAVY, "tensorboard", "tensorflow", "google", "numpy", "lightning", "yaml"} == set()


def test_git_hooks_never_load_the_framework_log_readers() -> None:
    code = (
        "import ledger.hooks.cli, ledger.hooks.post_commit, ledger.hooks.post_rewrite, "
        "ledger.hooks.runs_match, ledger.hooks.check_results, ledger.hooks.prepare_commit_msg\n"
        "import sys\n"
        "print(' '.join(sorted(sys.modules)))"
    )

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert [m for m in out.stdout.split() if m.startswith("ledger.capture.framework_logs")] == []


def test_ledger_has_no_import_cycles() -> None:
    """Counting imports inside functions and for type checking: a cycle one of them hides
    is still a cycle in the design."""
    import grimp

    graph = grimp.build_graph("ledger")
    cycles = sorted(
        f"{importer} -> {imported}"
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported != importer and graph.chain_exists(importer=imported, imported=importer)
    )
    assert cycles == []
