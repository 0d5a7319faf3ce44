"""Integration tests for ledger.dvc.files against repositories built by real git and DVC."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ledger.dvc import match as dvc_match
from ledger.dvc.files import DeclaredFiles, declared_files, read_data_refs
from ledger.dvc.match import workspace_matches


def _tool(name: str) -> str | None:
    """Prefer the tool installed next to this interpreter (the project venv)."""
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.is_file() else shutil.which(name)


DVC = _tool("dvc")
GIT = shutil.which("git")
PYTHON = shlex.quote(sys.executable)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(DVC is None, reason="dvc is not installed (pip install dvc)"),
    pytest.mark.skipif(GIT is None, reason="git is not installed"),
]

TRAIN_PY = """\
import json, os, shutil
shutil.copy("data/raw.csv", "model.bin")
os.makedirs("plots", exist_ok=True)
with open("plots/loss.csv", "w") as f:
    f.write("step,loss\\n0,1.0\\n1,0.5\\n")
with open("metrics.json", "w") as f:
    json.dump({"acc": 0.9}, f)
"""

PIPELINE = {
    "stages": {
        "train": {
            "cmd": f"{PYTHON} train.py",
            "deps": ["data/raw.csv", "data/images", "train.py"],
            "params": ["train.lr", "seed"],
            "outs": ["model.bin"],
            "metrics": [{"metrics.json": {"cache": False}}],
            "plots": [{"plots/loss.csv": {"x": "step", "y": "loss"}}],
        }
    }
}

FILES: dict[str, str | bytes] = {
    "train.py": TRAIN_PY,
    "params.yaml": "train:\n  lr: 0.01\nseed: 7\n",
    "dvc.yaml": yaml.safe_dump(PIPELINE),
    "data/raw.csv": "id,x\n1,2\n",
    # A directory with nesting, a binary file, a non-ASCII name (DVC's manifest JSON
    # escapes it) and a .gitignore, which DVC hashes as data like any other file.
    "data/images/a.png": bytes(range(256)) * 5,
    "data/images/b.png": b"\x89PNG\r\n",
    "data/images/.gitignore": "*.tmp\n",
    "data/images/sub/c.png": b"c" * 3000,
    "data/images/sub/deeper/d.txt": "deep\r\nline\n",
    "data/images/sub/na\u00efve.txt": "caf\u00e9\n",
}


def isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """Keep git and DVC away from the developer's config, hooks and caches."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "gitconfig").touch()
    for name in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):  # set inside git hooks
        mp.delenv(name, raising=False)
    env = {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_CACHE_HOME": home / ".cache",
        "GIT_CONFIG_GLOBAL": home / "gitconfig",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ledger Test",
        "GIT_AUTHOR_EMAIL": "ledger@example.com",
        "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
        "GIT_COMMITTER_NAME": "Ledger Test",
        "GIT_COMMITTER_EMAIL": "ledger@example.com",
        "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
        "DVC_NO_ANALYTICS": "1",
        "DVC_GLOBAL_CONFIG_DIR": home / "dvc-global",
        "DVC_SYSTEM_CONFIG_DIR": home / "dvc-system",
        "DVC_SITE_CACHE_DIR": home / "dvc-site-cache",
    }
    for name, value in env.items():
        mp.setenv(name, str(value))


def run(cwd: Path, tool: str, *args: str) -> str:
    """Run git or dvc, failing the test with its output if it fails."""
    exe = DVC if tool == "dvc" else GIT
    assert exe is not None  # the module is skipped otherwise
    done = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{tool} {args}: {done.stdout}{done.stderr}"
    return done.stdout


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")


def tracked(repo: Path) -> list[str]:
    """What the ledger's caller passes: the files git tracks."""
    run(repo, "git", "add", "-A")
    return [name for name in run(repo, "git", "ls-files", "-z").split("\0") if name]


def age_workspace(repo: Path) -> None:
    """Backdate every file so the hash cache may trust its stat (dvc_match._RACY_NS)."""
    stamp = time.time() - 60
    for path in repo.rglob("*"):
        if path.is_file() and ".git" not in path.parts and ".dvc" not in path.parts:
            os.utime(path, (stamp, stamp))


def lock_entries(repo: Path, name: str) -> list[dict[str, object]]:
    """Every out/dep entry DVC wrote into `name`, read with plain PyYAML."""
    doc = yaml.safe_load((repo / name).read_text())
    stages = doc["stages"].values() if name.endswith("dvc.lock") else [doc]
    return [e for stage in stages for key in ("outs", "deps") for e in stage.get(key, [])]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git+DVC repo with added data and a reproduced pipeline, built once (slow)."""
    base = tmp_path_factory.mktemp("dvc-template")
    repo = base / "repo"
    repo.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, base / "home")
        run(repo, "git", "init", "-q")
        run(repo, "dvc", "init", "-q")
        run(repo, "dvc", "config", "core.analytics", "false")
        run(repo, "dvc", "config", "core.autostage", "false")
        write(repo, FILES)
        run(repo, "dvc", "add", "-q", "data/raw.csv", "data/images")
        run(repo, "dvc", "repro", "-q")
        run(repo, "git", "add", "-A")
        run(repo, "git", "commit", "-q", "-m", "pipeline")
    return repo


@pytest.fixture
def repo(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the template repo, with git and DVC isolated."""
    isolate(monkeypatch, tmp_path / "home")
    copy = tmp_path / "repo"
    shutil.copytree(template, copy, symlinks=True)
    return copy


def test_refs_carry_exactly_the_hashes_dvc_wrote(repo):
    expected = {
        entry["path"] if source == "dvc.lock" else f"data/{entry['path']}": (
            source,
            entry["md5"],
        )
        for source in ("dvc.lock", "data/raw.csv.dvc", "data/images.dvc")
        for entry in lock_entries(repo, source)
    }

    scan = read_data_refs(repo, tracked(repo))

    assert scan.errors == ()
    assert {r.path: (r.source, r.value) for r in scan.refs} == expected
    assert {r.path: r.role for r in scan.refs} == {
        "data/images": "out",
        "data/raw.csv": "out",
        "metrics.json": "out",
        "model.bin": "out",
        "plots/loss.csv": "out",
        "train.py": "dep",
    }


def test_directory_ref_has_dvc_size_and_file_count(repo):
    (images,) = (r for r in read_data_refs(repo, tracked(repo)).refs if r.is_dir)

    assert (images.path, images.algorithm, images.nfiles) == ("data/images", "md5", 6)


def test_workspace_hashes_equal_what_dvc_recorded(repo):
    refs = read_data_refs(repo, tracked(repo)).refs

    assert workspace_matches(repo, refs) == dict.fromkeys((r.path for r in refs), True)


@pytest.mark.parametrize(
    ("change", "changed"),
    [
        (lambda repo: write(repo, {"data/raw.csv": "id,x\n1,3\n"}), "data/raw.csv"),
        (
            lambda repo: write(repo, {"data/images/sub/c.png": b"C" * 3000}),
            "data/images",
        ),
        (lambda repo: write(repo, {"data/images/sub/new.txt": "x"}), "data/images"),
        (lambda repo: (repo / "data/images/b.png").unlink(), "data/images"),
        (lambda repo: shutil.rmtree(repo / "data/images"), "data/images"),
        (lambda repo: write(repo, {"train.py": TRAIN_PY + "# tweak\n"}), "train.py"),
    ],
    ids=[
        "file-same-size",
        "dir-file-same-size",
        "dir-added",
        "dir-removed",
        "dir-deleted",
        "code-dep",
    ],
)
def test_changed_workspace_does_not_match(repo, change, changed):
    refs = read_data_refs(repo, tracked(repo)).refs
    change(repo)

    result = workspace_matches(repo, refs)

    assert {path for path, ok in result.items() if not ok} == {changed}


def test_rehashed_directory_matches_dvc_again(repo):
    before = {r.path: r.value for r in read_data_refs(repo, tracked(repo)).refs}
    write(repo, {"data/images/sub/deeper/e.bin": os.urandom(5000)})
    run(repo, "dvc", "add", "-q", "data/images")

    refs = read_data_refs(repo, tracked(repo)).refs
    (images,) = (r for r in refs if r.path == "data/images")

    assert images.value != before["data/images"]
    assert workspace_matches(repo, [images]) == {"data/images": True}


def test_second_check_costs_only_stats(repo, tmp_path, monkeypatch):
    refs = read_data_refs(repo, tracked(repo)).refs
    age_workspace(repo)
    cache = tmp_path / "hashes.json"
    first = workspace_matches(repo, refs, cache_path=cache)
    monkeypatch.setattr(dvc_match, "hash_file", lambda path: pytest.fail(f"read {path}"))

    second = workspace_matches(repo, refs, cache_path=cache)

    entries = json.loads(cache.read_text())["entries"]
    assert str(repo / "data/images/sub/deeper/d.txt") in entries
    assert second == first == dict.fromkeys((r.path for r in refs), True)


def test_stage_wdir_paths_are_made_repo_relative(repo):
    count = {
        "cmd": f"{PYTHON} -c \"open('count.txt', 'w').write('3')\"",
        "wdir": "../data",
        "deps": ["raw.csv"],
        "outs": ["count.txt"],
    }
    write(repo, {"sub/dvc.yaml": yaml.safe_dump({"stages": {"count": count}})})
    run(repo, "dvc", "repro", "-q", "sub/dvc.yaml")

    refs = [r for r in read_data_refs(repo, tracked(repo)).refs if r.source == "sub/dvc.lock"]

    assert [(r.path, r.stage) for r in refs] == [("data/count.txt", "count")]
    assert workspace_matches(repo, refs) == {"data/count.txt": True}


def test_declared_files_match_the_pipeline(repo):
    metrics_shown = json.loads(run(repo, "dvc", "metrics", "show", "--json"))

    declared = declared_files(repo, tracked(repo))

    assert declared == DeclaredFiles(
        params=("params.yaml",), metrics=("metrics.json",), plots=("plots/loss.csv",)
    )
    assert set(metrics_shown[""]["data"]) == set(declared.metrics)
