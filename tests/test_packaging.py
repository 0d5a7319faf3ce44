"""What a wheel would hold: every package folder listed, under the name the code imports it by."""

from __future__ import annotations

import tomllib
from pathlib import Path

import ledger

ROOT = Path(__file__).resolve().parents[1]


def _installed_name(folder: Path, package_dir: dict[str, str]) -> str:
    for name, source in sorted(package_dir.items(), key=lambda item: -len(item[1])):
        base = ROOT / source
        if folder == base or base in folder.parents:
            return ".".join([name, *folder.relative_to(base).parts])
    raise AssertionError(f"{folder} is outside every package-dir")


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    """An editable install finds a package the list forgets; a wheel silently leaves it out."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_dir: dict[str, str] = config["package-dir"]
    folders = {
        init.parent for top in ("ledger", "hooks", "tui") for init in (ROOT / top).rglob("__init__.py")
    }

    found = {_installed_name(folder, package_dir) for folder in folders}

    assert found == set(config["packages"])


def test_hooks_and_tui_folders_install_under_ledger() -> None:
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]

    assert _installed_name(ROOT / "tui" / "screens", package_dir) == "ledger.tui.screens"
    assert _installed_name(ROOT / "hooks", package_dir) == "ledger.hooks"
    assert _installed_name(ROOT / "ledger" / "capture" / "child", package_dir) == "ledger.capture.child"


def test_the_wheel_and_the_program_say_the_same_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert project["version"] == ledger.__version__
