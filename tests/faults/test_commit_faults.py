"""Commits when the ledger's folder cannot be written, and commits no hook saw.

The faults are real: a read-only file system (a tmpfs remounted read-only, or chmod
when not running as root, which chmod does not stop) and a full one (a tiny tmpfs
filled up) over `.git/ledger`. Mounting needs root; without it those cases skip. The
commits must go through, and `ledger doctor` must find them from history alone: the
hook could not write down its own failure either.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger, runs_json
from tests.projects import building, copy_project

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.repo import TmpRepo


pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMMITS = 5


@pytest.fixture(scope="session")
def _initialised(tmp_path_factory: pytest.TempPathFactory) -> TmpRepo:
    """The repository up to the commit of `ledger init`'s config, made with the hooks off
    (nothing runs in the background) once per worker: nothing in it names its folder."""
    with building(tmp_path_factory, "initialised") as repo:
        repo.gen({"train.py": "print('train')\n", "params.yaml": "lr: 0.1\n"})
        repo.commit("code")
        ledger("init")
        _commit(repo, "hooks config", hooks=False)
    return repo


@pytest.fixture
def hooked(
    tmp_repo: TmpRepo, tmp_path: Path, _initialised: TmpRepo, monkeypatch: pytest.MonkeyPatch
) -> TmpRepo:
    """`ledger init` done, its config committed, the history in the ledger: each test's own
    `doctor --fix` records the history, as the runs it writes name the repository's folder."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    shutil.rmtree(tmp_repo.root)
    copy_project(_initialised.root, tmp_repo.root)
    monkeypatch.chdir(tmp_repo.root)
    ledger("doctor", "--fix")
    assert ledger("doctor").returncode == 0
    return tmp_repo


def _commit(repo: TmpRepo, message: str, *, hooks: bool = True) -> subprocess.CompletedProcess[str]:
    repo.git("add", "-A")
    return subprocess.run(
        ["git", "commit", "-m", message],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LEDGER_HOOKS": "1" if hooks else "0"},
    )


def _result_commits(repo: TmpRepo, label: str, *, hooks: bool = True) -> list[str]:
    shas = []
    for i in range(COMMITS):
        repo.gen({"metrics.json": f'{{"acc": 0.{i}1}}'})
        done = _commit(repo, f"{label} {i}", hooks=hooks)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stdout + done.stderr
        shas.append(repo.git("rev-parse", "HEAD"))
    return shas


def _mount(*args: str) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """`folder` as it is, but read-only: a tmpfs copy remounted read-only (root), else chmod."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in (folder, *folder.rglob("*")) if p.is_dir()}
        for p in modes:
            p.chmod(0o555)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    saved = folder.parent / "ledger-saved"
    shutil.copytree(folder, saved)
    if not _mount("-t", "tmpfs", "-o", "size=64m", "tmpfs", str(folder)):
        shutil.rmtree(saved)
        pytest.skip("cannot mount a tmpfs here")
    try:
        shutil.copytree(saved, folder, dirs_exist_ok=True)
        assert _mount("-o", "remount,ro", str(folder))
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(saved)


@contextlib.contextmanager
def _full(folder: Path) -> Iterator[None]:
    """`folder` replaced by a tiny tmpfs with no space left (needs root to mount)."""
    if not _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        with contextlib.suppress(OSError), (folder / "filler").open("wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        with pytest.raises(OSError, match="No space left"):
            (folder / "probe").write_bytes(b"x" * 4096)
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.parametrize("fault", [_read_only, _full], ids=["read-only", "full"])
def test_commits_while_the_ledger_folder_cannot_be_written_are_found_and_recovered(
    hooked: TmpRepo, fault: object
) -> None:
    folder = hooked.root / ".git" / "ledger"

    with fault(folder):  # type: ignore[operator]
        shas = _result_commits(hooked, "while broken")

    assert hooked.git("rev-list", "--count", "HEAD") == str(2 + COMMITS)
    found = ledger("doctor", check=False)
    assert found.returncode == 1
    assert f"{COMMITS} commits with results are not in the ledger" in found.stdout
    fixed = ledger("doctor", "--fix")
    assert f"backfill: {COMMITS} missed commits with results recorded" in fixed.stdout
    assert {r["commit"] for r in runs_json()} >= set(shas)
    assert ledger("doctor").returncode == 0


def test_commits_made_with_the_hooks_off_are_noticed_and_recorded(hooked: TmpRepo) -> None:
    shas = _result_commits(hooked, "scripted", hooks=False)
    hooked.gen({"README.md": "no results here\n"})
    _commit(hooked, "docs", hooks=False)

    found = ledger("doctor", check=False)

    assert found.returncode == 1
    assert f"{COMMITS} commits with results are not in the ledger" in found.stdout
    ledger("doctor", "--fix")
    recorded = [r["commit"] for r in runs_json() if r["commit"] in shas]
    assert sorted(recorded) == sorted(shas)
    assert hooked.git("rev-parse", "HEAD") not in {r["commit"] for r in runs_json()}  # docs only
    assert ledger("doctor").returncode == 0


def test_commits_the_hooks_recorded_are_not_reported(hooked: TmpRepo) -> None:
    shas = _result_commits(hooked, "hooked")
    assert {r["commit"] for r in runs_json()} >= set(shas)  # the listing waits for the ingest

    found = ledger("doctor", check=False)

    assert "not in the ledger" not in found.stdout, found.stdout
    assert found.returncode == 0, found.stdout + found.stderr
