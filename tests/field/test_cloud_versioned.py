"""Field corpus: a dataset on a cloud-versioned DVC remote (`files:` in its `.dvc` file)."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.field import cloud_versioned
from tests.helpers import ledger, ledger_process, runs_json, show_json
from tests.projects import building

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

PY = sys.executable


def run_train(repo: TmpRepo) -> dict[str, Any]:
    ledger_process("run", "--", PY, "train.py", cwd=repo.root)
    detail: dict[str, Any] = show_json(runs_json(cwd=repo.root)[0]["id"], cwd=repo.root)["run"]
    return detail


@dataclass(frozen=True)
class Built:
    """The project as `cloud_versioned.build` left it, and the `.dir` hash DVC gave its data."""

    repo: TmpRepo
    digest: str


@dataclass(frozen=True)
class Trained:
    """The built project after one run of its training script."""

    repo: TmpRepo
    digest: str
    detail: dict[str, Any]
    """`ledger show --json`'s record of the run."""


@pytest.fixture(scope="session")
def built(_dvc_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Built once: the tests that change the project change a copy (`own_copy`)."""
    with building(tmp_path_factory, "cloud-built", _dvc_template) as repo:
        digest = cloud_versioned.build(repo)
    return Built(repo, digest)


@pytest.fixture(scope="session")
def trained(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """Trained once, on a copy of `built`: most tests ask about that one run."""
    with building(tmp_path_factory, "cloud-trained", built.repo.root) as repo:
        detail = run_train(repo)
    return Trained(repo, built.digest, detail)


def images(detail: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [d for d in detail["data"] if d["path"] == "data/images"]
    (item,) = found
    return item


def test_the_builder_writes_what_dvc_reads_back(built: Built, own_copy: Callable[[TmpRepo], TmpRepo]) -> None:
    """The fixture is DVC's own format: `files:` with per-remote etag and version ID, no md5."""
    dvc_repo = own_copy(built.repo)

    (out,) = yaml.safe_load((dvc_repo.root / "data/images.dvc").read_text())["outs"]

    assert "md5" not in out
    assert [f["relpath"] for f in out["files"]] == ["cat/001.txt", "cat/002.txt", "dog/001.txt"]
    assert set(out["files"][0]) == {"relpath", "md5", "size", "cloud"}
    assert set(out["files"][0]["cloud"]["cloud"]) == {"etag", "version_id"}
    assert "Data and pipelines are up to date" in dvc_repo.dvc("status")


def test_run_records_per_file_hashes_digest_count_and_size(trained: Trained) -> None:
    digest, detail = trained.digest, trained.detail

    item = images(detail)
    assert item["value"] == digest  # the `.dir` hash DVC itself gave the directory
    assert (item["algorithm"], item["nfiles"], item["size"]) == ("md5", 3, 28)
    assert (item["workspace_match"], item["checked"]) == (True, "start")
    files = {f["relpath"]: f for f in item["files"]}
    assert sorted(files) == ["cat/001.txt", "cat/002.txt", "dog/001.txt"]
    assert {f["remote"] for f in files.values()} == {"cloud"}
    assert all(len(f["version_id"]) == 32 for f in files.values())
    assert detail["capture_errors"] == []
    assert {m["key"]: m["value"] for m in detail["metrics"]}["images"] == 3


def test_show_names_the_versions_and_when_the_data_was_checked(trained: Trained) -> None:
    run_id = trained.detail["summary"]["id"]

    shown = ledger("show", run_id, cwd=trained.repo.root).stdout

    assert "(input, out, 28 bytes, 3 files, matched DVC's record at the start)" in shown
    assert "3 file version(s) on cloud-versioned remote 'cloud'" in shown


def test_diff_shows_the_dataset_version_changed(
    trained: Trained, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    dvc_repo = own_copy(trained.repo)
    first_digest = trained.digest
    first = trained.detail["summary"]["id"]
    dvc_repo.gen({"data/images/dog/002.txt": "beagle\n"})
    second_digest = cloud_versioned.publish(
        dvc_repo, {**dict.fromkeys(cloud_versioned.IMAGES, "v1"), "data/images/dog/002.txt": "v1"}
    )
    dvc_repo.commit("a second dog")
    second = run_train(dvc_repo)

    diff = ledger("diff", first, second["summary"]["id"], cwd=dvc_repo.root).stdout

    assert images(second)["nfiles"] == 4
    assert first_digest != second_digest
    lines = [line for line in diff.splitlines() if "data/images" in line]
    assert lines
    assert first_digest[:8] in "\n".join(lines)
    assert second_digest[:8] in "\n".join(lines)


def test_unchanged_dataset_is_not_a_diff(trained: Trained, own_copy: Callable[[TmpRepo], TmpRepo]) -> None:
    dvc_repo = own_copy(trained.repo)
    first = trained.detail["summary"]["id"]
    second = run_train(dvc_repo)["summary"]["id"]

    diff = ledger("diff", first, second, cwd=dvc_repo.root).stdout

    assert "data/images" not in diff


def test_reproduce_plan_restores_the_files_from_the_cache(trained: Trained) -> None:
    run_id = trained.detail["summary"]["id"]

    plan = ledger_process("reproduce", "--dry-run", run_id, cwd=trained.repo.root).stdout

    assert "no DVC-tracked data" not in plan
    assert "data/images (md5 " in plan
    assert "from the DVC cache, 3 files copied by md5 (cloud-versioned on 'cloud')" in plan
    assert "PROBLEM" not in plan


def test_reproduce_restores_the_dataset_and_matches(
    trained: Trained, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    dvc_repo = own_copy(trained.repo)
    run_id = trained.detail["summary"]["id"]

    done = ledger_process("reproduce", run_id, cwd=dvc_repo.root)

    assert f"reproduces {run_id[:7]}: matched" in done.stderr


def test_reproduce_without_the_cache_says_only_the_versioned_bucket_has_it(
    trained: Trained, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    """Offline, the bucket is out of reach: the plan says so and nothing runs."""
    dvc_repo = own_copy(trained.repo)
    run_id = trained.detail["summary"]["id"]
    shutil.rmtree(dvc_repo.root / ".dvc" / "cache")

    plan = ledger_process("reproduce", "--dry-run", run_id, cwd=dvc_repo.root, check=False)
    done = ledger_process("reproduce", run_id, cwd=dvc_repo.root, check=False)

    assert "MISSING from the DVC cache; only the cloud-versioned remote 'cloud' has it" in plan.stdout
    assert "PROBLEM" in plan.stdout
    assert "needs network access" in plan.stdout
    assert done.returncode != 0
    assert "only the cloud-versioned remote 'cloud' holds it" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(runs_json(cwd=dvc_repo.root)) == 1  # nothing was run


def test_unreadable_files_entry_is_a_capture_problem(
    built: Built, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    """Half a `files:` list (a bad merge) is said, not recorded as nothing."""
    dvc_repo = own_copy(built.repo)
    dvc_file = dvc_repo.root / "data/images.dvc"
    dvc_file.write_text(dvc_file.read_text().replace("  - relpath: cat/002.txt\n", "  - name: cat/002.txt\n"))

    detail = run_train(dvc_repo)

    assert [d["path"] for d in detail["data"]] == []
    assert detail["capture_errors"] == ["data/images.dvc: outs[0] files[1] has no relpath and md5"]


def test_a_commit_through_the_hooks_links_the_run_of_the_versioned_dataset(
    built: Built, own_copy: Callable[[TmpRepo], TmpRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    dvc_repo = own_copy(built.repo)
    ledger("init", cwd=dvc_repo.root)
    dvc_repo.commit("hooks")
    run_id = run_train(dvc_repo)["summary"]["id"]

    dvc_repo.commit("results")

    sha = dvc_repo.git("rev-parse", "HEAD")
    assert show_json(run_id, cwd=dvc_repo.root)["run"]["linked_commits"] == [sha]
    assert [r["id"] for r in runs_json(cwd=dvc_repo.root)] == [run_id]
