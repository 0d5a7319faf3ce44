"""Output patterns match as `.gitignore` patterns do, on a real folder tree."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

from ledger.capture.outputs import scan_outputs

if TYPE_CHECKING:
    from pathlib import Path


def _write(root: Path, *names: str, age: float = 0.0) -> None:
    """Create files; `age` seconds in the past (what an earlier run left)."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        if age:
            old = time.time() - age
            os.utime(path, (old, old))


def _age_folders(root: Path, age: float) -> None:
    old = time.time() - age
    for folder, _, _ in os.walk(root):
        os.utime(folder, (old, old))


@pytest.mark.parametrize(
    ("pattern", "path", "named"),
    [
        ("*.ckpt", "last.ckpt", True),
        ("*.ckpt", "logs/train/runs/2024-05-01_10-00-00/checkpoints/last.ckpt", True),
        ("*.ckpt", "last.ckpt.tmp", False),
        ("checkpoints/", "logs/x/checkpoints/epoch_1.pt", True),
        ("checkpoints/", "checkpoints", False),  # a file named so is not the folder
        ("models/best.pt", "models/best.pt", True),
        ("models/best.pt", "sub/models/best.pt", False),  # a slash anchors it
        ("/model.pt", "sub/model.pt", False),
        ("outputs/**/*.json", "outputs/2024-05-01/10-00-00/metrics.json", True),
        ("outputs/**/*.json", "outputs/metrics.json", True),
        ("logs/**", "logs/a/b/c.txt", True),
        ("**/version_*/", "lightning_logs/version_3/hparams.yaml", True),
        ("*.safetensors", "hf/model-00001-of-00002.safetensors", True),
        ("model.[ct]kpt", "a/model.ckpt", True),
    ],
)
def test_patterns_match_like_gitignore(tmp_path: Path, pattern: str, path: str, named: bool) -> None:
    _write(tmp_path, path)

    found = scan_outputs(tmp_path, [pattern], since=time.time() - 60).files

    assert found == ([path] if named else [])


def test_a_later_negation_takes_a_file_back(tmp_path: Path) -> None:
    _write(tmp_path, "checkpoints/a.pt", "checkpoints/a.pt.tmp")

    found = scan_outputs(tmp_path, ["checkpoints/", "!*.tmp"], since=time.time() - 60).files

    assert found == ["checkpoints/a.pt"]


def test_outputs_at_any_depth_and_the_folder_the_run_made(tmp_path: Path) -> None:
    earlier = "logs/train/runs/2024-05-01_09-00-00"
    _write(tmp_path, f"{earlier}/checkpoints/last.ckpt", "old.ckpt", "train.py", age=3600)
    _age_folders(tmp_path, 3600)
    started = time.time()
    run = "logs/train/runs/2024-05-01_10-00-00"
    _write(
        tmp_path,
        f"{run}/checkpoints/epoch_000.ckpt",
        f"{run}/checkpoints/last.ckpt",
        f"{run}/.hydra/config.yaml",
        f"{run}/tensorboard/events.out.tfevents.1",
        f"{run}/train.log",
    )

    scan = scan_outputs(tmp_path, ["*.ckpt"], started)

    assert scan.files == [f"{run}/checkpoints/epoch_000.ckpt", f"{run}/checkpoints/last.ckpt"]
    assert scan.folders == [run]
    assert scan.problems == []


def test_old_files_and_private_folders_are_never_outputs(tmp_path: Path) -> None:
    _write(tmp_path, "old.ckpt", "checkpoints/old.pt", age=3600)
    _age_folders(tmp_path, 3600)
    started = time.time()
    _write(
        tmp_path,
        ".git/lfs/objects/x.ckpt",
        ".venv/lib/python3.11/site-packages/pkg/model.ckpt",
        "env311/lib/model.ckpt",
        "env311/pyvenv.cfg",
        "node_modules/pkg/model.ckpt",
        ".dvc/cache/files/md5/ab/cdef.ckpt",
        "data/images/model.ckpt",
    )

    scan = scan_outputs(tmp_path, ["*.ckpt", "checkpoints/"], started, skip=["data/images"])

    assert scan.files == []


def test_a_lightning_version_folder_is_found_inside_a_new_lightning_logs(tmp_path: Path) -> None:
    started = time.time() - 1
    _write(tmp_path, "lightning_logs/version_0/checkpoints/epoch=0-step=10.ckpt")
    _write(tmp_path, "lightning_logs/version_0/hparams.yaml")

    scan = scan_outputs(tmp_path, ["*.ckpt"], started)

    assert scan.folders == ["lightning_logs/version_0"]


def test_an_existing_folder_the_run_only_added_to_is_not_its_folder(tmp_path: Path) -> None:
    _write(tmp_path, "lightning_logs/version_0/hparams.yaml", age=3600)
    _age_folders(tmp_path, 3600)
    started = time.time()
    _write(tmp_path, "lightning_logs/version_0/extra.txt", "lightning_logs/version_1/hparams.yaml")

    scan = scan_outputs(tmp_path, ["*.ckpt"], started)

    assert scan.folders == ["lightning_logs/version_1"]


def test_a_folder_taken_back_is_not_walked(tmp_path: Path) -> None:
    _write(tmp_path, "data/cache/model.ckpt", "model.ckpt")

    scan = scan_outputs(tmp_path, ["*.ckpt", "!data/"], since=time.time() - 60, limit=3)

    assert scan.files == ["model.ckpt"]
    assert scan.problems == []


def test_a_huge_tree_stops_the_walk_and_says_so(tmp_path: Path) -> None:
    started = time.time() - 1
    _write(tmp_path, *(f"frames/{i}.png" for i in range(50)), "model.ckpt")

    scan = scan_outputs(tmp_path, ["*.ckpt"], started, limit=20)

    assert len(scan.problems) == 1
    assert "stopped looking after 20" in scan.problems[0]
    assert scan.folders == []  # nothing is claimed from a walk cut short
