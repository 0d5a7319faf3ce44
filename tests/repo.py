"""TmpRepo: generate files, commit, `dvc add` in a real repository made for one test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_BESIDE = Path(sys.executable).parent / "dvc"
DVC = str(_BESIDE) if _BESIDE.exists() else shutil.which("dvc")
"""The dvc of the test environment (the venv's, even when it is not on PATH)."""


@dataclass
class TmpRepo:
    """A real git work tree in a temporary folder."""

    root: Path

    def gen(self, files: dict[str, str | bytes]) -> None:
        """Write files (creating folders); str is written as text."""
        for name, content in files.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)

    def git(self, *args: str) -> str:
        """Run git in the repo and return its stripped stdout."""
        proc = subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True, text=True)
        return proc.stdout.strip()

    def commit(self, message: str = "commit", *, add: bool = True) -> str:
        """Commit everything (or what is staged) and return the new HEAD."""
        if add:
            self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def dvc(self, *args: str) -> str:
        """Run dvc in the repo."""
        if DVC is None:
            raise RuntimeError("dvc is not installed")
        proc = subprocess.run([DVC, *args], cwd=self.root, check=True, capture_output=True, text=True)
        return proc.stdout.strip()

    def dvc_add(self, path: str) -> None:
        """Track a path with DVC and stage the files it made."""
        self.dvc("add", "-q", path)
        self.git("add", f"{path}.dvc", ".gitignore" if "/" not in path else f"{Path(path).parent}/.gitignore")
