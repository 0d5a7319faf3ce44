"""Unit tests for ledger.dvc.files: parsing DVC files and hashing, on real files, no DVC."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any

import pytest

from ledger.core.errors import CaptureError
from ledger.dvc import files as dvc_files
from ledger.dvc import match as dvc_match
from ledger.dvc.files import DataRef, declared_files, read_data_refs
from ledger.dvc.match import hash_file, workspace_matches

if TYPE_CHECKING:
    from pathlib import Path

MD5_A = "0cc175b9c0f1b6a831c399e269772661"  # md5(b"a")
MD5_B = "92eb5ffee6ae2fec3ad71c777531578f"  # md5(b"b")


def write(root: Path, files: dict[str, str | bytes]) -> list[str]:
    """Write `files` under `root` and return their names, as `git ls-files` would."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return list(files)


def age(path: Path, seconds: float = 60) -> None:
    """Backdate a file so the hash cache trusts its stat (see dvc_match._RACY_NS)."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def ref(path: str, value: str = MD5_A, **changes: Any) -> DataRef:
    """A ref as `read_data_refs` would return it from `x.dvc`, with `changes`."""
    found = DataRef(path, "md5", value, None, None, "x.dvc", None, "out")
    return dataclasses.replace(found, **changes)


DVC3_FILE = """\
outs:
- md5: 6222ebefe9b0774a32549294153002bd.dir
  size: 6
  nfiles: 3
  hash: md5
  path: imgs
"""

LOCK = """\
schema: '2.0'
stages:
  prepare:
    cmd: python prepare.py
    deps:
    - path: raw.csv
      hash: md5
      md5: 764efa883dda1e11db47671c4a3bbd9e
      size: 3
    - path: prepare.py
      hash: md5
      md5: b4dda466dc40b1d9f2abcffb6d03d8db
      size: 110
    params:
      params.yaml:
        seed: 1
    outs:
    - path: prepared.csv
      hash: md5
      md5: 77fea2a1d26d42b817938cb33c61080a
      size: 10
  train:
    cmd: python train.py
    deps:
    - path: prepared.csv
      hash: md5
      md5: 77fea2a1d26d42b817938cb33c61080a
      size: 10
    outs:
    - path: model.bin
      hash: md5
      md5: 764efa883dda1e11db47671c4a3bbd9e
      size: 3
"""


def test_dvc3_file_gives_md5_ref_relative_to_its_directory(tmp_path):
    files = write(tmp_path, {"data/imgs.dvc": DVC3_FILE})

    scan = read_data_refs(tmp_path, files)

    assert scan.errors == ()
    assert scan.refs == (
        DataRef(
            path="data/imgs",
            algorithm="md5",
            value="6222ebefe9b0774a32549294153002bd.dir",
            size=6,
            nfiles=3,
            source="data/imgs.dvc",
            stage=None,
            role="out",
        ),
    )


def test_legacy_dvc2_file_is_md5_dos2unix(tmp_path):
    files = write(tmp_path, {"raw.csv.dvc": f"outs:\n- md5: {MD5_A}\n  path: raw.csv\n"})

    (found,) = read_data_refs(tmp_path, files).refs

    assert (found.algorithm, found.value, found.size) == ("md5-dos2unix", MD5_A, None)


def test_dvc_file_wdir_is_applied(tmp_path):
    text = f"wdir: ../inputs\nouts:\n- md5: {MD5_A}\n  hash: md5\n  path: a.txt\n"
    files = write(tmp_path, {"meta/a.dvc": text})

    assert [r.path for r in read_data_refs(tmp_path, files).refs] == ["inputs/a.txt"]


def test_lock_outs_win_over_deps_and_code_deps_are_kept(tmp_path):
    files = write(tmp_path, {"dvc.lock": LOCK})

    scan = read_data_refs(tmp_path, files)

    assert [(r.path, r.role, r.stage) for r in scan.refs] == [
        ("model.bin", "out", "train"),
        ("prepare.py", "dep", "prepare"),
        ("prepared.csv", "out", "prepare"),
        ("raw.csv", "dep", "prepare"),
    ]


def test_dvc_file_out_wins_over_lock_dep_of_same_path(tmp_path):
    files = write(
        tmp_path,
        {"dvc.lock": LOCK, "raw.csv.dvc": f"outs:\n- md5: {MD5_A}\n  path: raw.csv\n"},
    )

    by_path = {r.path: r for r in read_data_refs(tmp_path, files).refs}

    assert (by_path["raw.csv"].source, by_path["raw.csv"].role) == (
        "raw.csv.dvc",
        "out",
    )


def test_lock_in_subdirectory_uses_stage_wdir_from_dvc_yaml(tmp_path):
    files = write(
        tmp_path,
        {
            "exp/dvc.yaml": "stages:\n  train:\n    cmd: x\n    wdir: ../src\n",
            "exp/dvc.lock": LOCK,
        },
    )

    refs = read_data_refs(tmp_path, files).refs

    assert {(r.stage, r.path) for r in refs} == {
        ("prepare", "exp/prepare.py"),
        ("prepare", "exp/prepared.csv"),
        ("prepare", "exp/raw.csv"),
        ("train", "src/model.bin"),
        ("train", "src/prepared.csv"),
    }


def test_foreach_stage_takes_wdir_from_its_do_body(tmp_path):
    outs = f"outs: [{{path: m.bin, md5: {MD5_A}}}]"
    lock = f"schema: '2.0'\nstages:\n  train@1:\n    {outs}\n"
    yaml_text = "stages:\n  train:\n    foreach: [1]\n    do:\n      cmd: x\n      wdir: w\n"
    files = write(tmp_path, {"dvc.lock": lock, "dvc.yaml": yaml_text})

    (found,) = read_data_refs(tmp_path, files).refs

    assert (found.path, found.stage) == ("w/m.bin", "train@1")


@pytest.mark.parametrize(
    "entry",
    [
        "path: https://example.com/data.csv\n  etag: abc",
        f"path: data.csv\n  md5: {MD5_A}\n  repo:\n    url: https://example.com/r.git",
        "path: notyet.csv\n  hash: md5",
    ],
    ids=["url", "other-repo", "no-md5"],
)
def test_deps_read_elsewhere_are_dropped(tmp_path, entry):
    """A URL's or another repo's data is recorded as the local out DVC copied it to."""
    files = write(tmp_path, {"x.dvc": f"deps:\n- {entry}\nouts: []\n"})

    assert read_data_refs(tmp_path, files) == dvc_files.DataScan(refs=(), errors=())


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (f"deps:\n- path: /abs/data.csv\n  md5: {MD5_A}", "deps[0] (/abs/data.csv): outside the repository"),
        (
            f"deps:\n- path: ../outside.csv\n  md5: {MD5_A}",
            "deps[0] (../outside.csv): outside the repository",
        ),
        (
            f"outs:\n- path: s3://bucket/m.bin\n  etag: {MD5_A}",
            "outs[0] (s3://bucket/m.bin): outside the repository",
        ),
        ("outs:\n- path: notyet.bin\n  hash: md5", "outs[0] (notyet.bin): no md5 or files: recorded"),
    ],
    ids=["absolute-dep", "outside-repo-dep", "external-out", "out-without-hash"],
)
def test_entries_that_cannot_be_recorded_are_capture_problems(tmp_path, entry, problem):
    files = write(tmp_path, {"x.dvc": f"{entry}\n", "y.dvc": f"outs:\n- path: y\n  md5: {MD5_B}\n"})

    scan = read_data_refs(tmp_path, files)

    assert scan.errors == (f"x.dvc: {problem}; not recorded",)
    assert [r.path for r in scan.refs] == ["y"]  # the rest of the files is still read


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("a.dvc", "outs:\n- path: a\n  md5: x: y\n", "a.dvc: not valid YAML (line 3)"),
        ("a.dvc", "- just\n- a list\n", "a.dvc: top level is not a mapping"),
        ("a.dvc", "", "a.dvc: top level is not a mapping"),
        ("a.dvc", b"outs: \xff\xfe\n", "a.dvc: not valid YAML"),
        ("a.dvc", "outs: data.csv\n", "a.dvc: outs is not a list"),
        ("a.dvc", "outs:\n- data.csv\n", "a.dvc: outs[0] is not a mapping"),
        ("a.dvc", f"outs:\n- md5: {MD5_A}\n", "a.dvc: outs[0] has no path"),
        (
            "a.dvc",
            "outs:\n- path: a\n  md5: 12\n",
            "a.dvc: outs[0] md5 is not a string",
        ),
        (
            "a.dvc",
            f"outs:\n- path: a\n  md5: {MD5_A}\n  size: big\n",
            "a.dvc: outs[0] size is not an integer",
        ),
        ("a.dvc", "wdir: [x]\n", "a.dvc: wdir is not a string"),
        (
            "dvc.lock",
            "train:\n  cmd: x\n",
            "dvc.lock: unsupported schema None (want '2.0')",
        ),
        (
            "dvc.lock",
            "schema: '2.0'\nstages: [train]\n",
            "dvc.lock: stages is not a mapping",
        ),
        (
            "dvc.lock",
            "schema: '2.0'\nstages:\n  train: x\n",
            "dvc.lock: stage 'train' is not a mapping",
        ),
        (
            "dvc.lock",
            "schema: '2.0'\nstages:\n  train:\n    deps:\n    - path: 3\n",
            "dvc.lock: stage 'train' deps[0] has no path",
        ),
    ],
    ids=[
        "bad-yaml",
        "list",
        "empty",
        "not-utf8",
        "outs-scalar",
        "entry-scalar",
        "no-path",
        "md5-int",
        "size-str",
        "wdir-list",
        "lock-v1",
        "stages-list",
        "stage-scalar",
        "dep-path-int",
    ],
)
def test_malformed_file_gives_one_error_line_and_no_refs(tmp_path, name, content, error):
    files = write(tmp_path, {name: content})

    assert read_data_refs(tmp_path, files) == dvc_files.DataScan(refs=(), errors=(error,))


def test_malformed_file_does_not_hide_other_files(tmp_path):
    files = write(tmp_path, {"bad.dvc": "{", "data/imgs.dvc": DVC3_FILE})

    scan = read_data_refs(tmp_path, files)

    assert ([r.path for r in scan.refs], len(scan.errors)) == (["data/imgs"], 1)


def test_missing_listed_file_is_skipped(tmp_path):
    assert read_data_refs(tmp_path, ["gone.dvc", "sub/dvc.lock"]) == dvc_files.DataScan((), ())


@pytest.mark.parametrize("name", ["dvc.yaml", ".dvc/config", ".dvc", "notes.dvc.txt", "dvc.lock.bak"])
def test_other_files_are_not_read(tmp_path, name):
    files = write(tmp_path, {name: "{"})

    assert read_data_refs(tmp_path, files) == dvc_files.DataScan((), ())


@pytest.mark.parametrize(("value", "expected"), [(f"{MD5_A}.dir", True), (MD5_A, False)], ids=["dir", "file"])
def test_is_dir_follows_dvc_dir_suffix(value, expected):
    assert ref("x", value).is_dir is expected


DVC_YAML = """\
params:
- extra/params.json
metrics:
- reports/summary.json
plots:
- reports/loss.csv
- confusion:
    template: confusion
    x: actual
    y:
      eval/preds.csv: predicted
stages:
  train:
    cmd: python train.py
    params:
    - train.lr
    - seed
    - config/model.yaml:
      - depth
    outs:
    - model.bin
    metrics:
    - metrics.json:
        cache: false
    plots:
    - plots/roc.json
  evaluate:
    cmd: python eval.py
    wdir: eval
    params:
    - threshold
    metrics:
    - ${item}/scores.json
"""


def test_declared_files_reads_params_metrics_and_plots(tmp_path):
    files = write(tmp_path, {"dvc.yaml": DVC_YAML})

    declared = declared_files(tmp_path, files)

    assert declared == dvc_files.DeclaredFiles(
        params=(
            "config/model.yaml",
            "eval/params.yaml",
            "extra/params.json",
            "params.yaml",
        ),
        metrics=("metrics.json", "reports/summary.json"),
        plots=("eval/preds.csv", "plots/roc.json", "reports/loss.csv"),
    )


def test_declared_files_in_subdirectory_are_repo_relative_and_deduplicated(tmp_path):
    stage = "stages:\n  s:\n    cmd: x\n    params: [lr]\n    metrics: [m.json]\n"
    files = write(tmp_path, {"a/dvc.yaml": stage, "dvc.yaml": "params: [a/params.yaml]\n"})

    declared = declared_files(tmp_path, files)

    assert (declared.params, declared.metrics) == (("a/params.yaml",), ("a/m.json",))


@pytest.mark.parametrize(
    "content",
    ["stages: [", "- a list", "stages: {train: 3}", ""],
    ids=["bad-yaml", "list", "stage-scalar", "empty"],
)
def test_malformed_dvc_yaml_declares_nothing(tmp_path, content):
    files = write(tmp_path, {"dvc.yaml": content})

    assert declared_files(tmp_path, files) == dvc_files.DeclaredFiles((), (), ())


def test_hash_file_streams_large_files_to_plain_md5(tmp_path):
    data = os.urandom(dvc_match.CHUNK_SIZE * 2 + 123)
    (tmp_path / "big.bin").write_bytes(data)

    assert hash_file(tmp_path / "big.bin") == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_hash_file_on_missing_file_is_a_capture_error(tmp_path):
    with pytest.raises(CaptureError, match="cannot hash"):
        hash_file(tmp_path / "nope.bin")


@pytest.mark.parametrize(
    ("content", "expected"),
    [("a", True), ("b", False)],
    ids=["same", "changed-same-size"],
)
def test_workspace_file_match_compares_content(tmp_path, content, expected):
    write(tmp_path, {"f.txt": content})

    assert workspace_matches(tmp_path, [ref("f.txt", size=1)]) == {"f.txt": expected}


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (ref("gone.txt"), False),
        (ref("d", f"{MD5_A}.dir"), False),
        (ref("f.txt", f"{MD5_A}.dir"), False),
        (ref("f.txt", size=99), False),
        (ref("f.txt", algorithm="md5-dos2unix"), None),
    ],
    ids=["missing", "missing-dir", "file-for-dir", "size-differs", "legacy-hash"],
)
def test_workspace_match_edge_cases(tmp_path, found, expected):
    write(tmp_path, {"f.txt": "a"})

    assert workspace_matches(tmp_path, [found]) == {found.path: expected}


def dir_ref(root: Path, path: str) -> DataRef:
    """A directory ref whose hash follows DVC's manifest format, for these tests."""
    entries = sorted(
        (p.relative_to(root / path).as_posix(), hash_file(p)) for p in (root / path).rglob("*") if p.is_file()
    )
    manifest = [{"md5": md5, "relpath": rel} for rel, md5 in entries]
    text = json.dumps(manifest, sort_keys=True).encode()
    digest = hashlib.md5(text, usedforsecurity=False).hexdigest()
    return ref(path, f"{digest}.dir", nfiles=len(entries))


def test_workspace_dir_match_skips_dvc_ignored_names(tmp_path):
    write(tmp_path, {"d/a.txt": "a", "d/sub/b.txt": "b"})
    expected = dir_ref(tmp_path, "d")
    write(
        tmp_path,
        {"d/.git": "gitdir: x", "d/.dvc/config": "", "d/s/.dvc/c": "", "d/.hg/x": ""},
    )

    assert workspace_matches(tmp_path, [expected]) == {"d": True}


def test_workspace_dir_with_added_file_does_not_match(tmp_path):
    write(tmp_path, {"d/a.txt": "a"})
    expected = dir_ref(tmp_path, "d")
    write(tmp_path, {"d/new.txt": "new"})

    assert workspace_matches(tmp_path, [expected]) == {"d": False}


@pytest.mark.parametrize(
    "files",
    [{".dvcignore": "*.tmp\n"}, {"d/.dvcignore": "# only a comment\n"}],
    ids=["pattern-above", "inside-dir"],
)
def test_workspace_dir_under_dvcignore_is_unknowable(tmp_path, files):
    write(tmp_path, {"d/a.txt": "a"})
    expected = dir_ref(tmp_path, "d")
    write(tmp_path, files)

    assert workspace_matches(tmp_path, [expected]) == {"d": None}


def test_workspace_dir_ignores_comment_only_dvcignore_above(tmp_path):
    write(tmp_path, {"d/a.txt": "a"})
    expected = dir_ref(tmp_path, "d")
    write(tmp_path, {".dvcignore": "# Add patterns of files dvc should ignore\n\n"})

    assert workspace_matches(tmp_path, [expected]) == {"d": True}


def test_hash_cache_skips_hashing_unchanged_files(tmp_path, monkeypatch):
    write(tmp_path, {"f.txt": "a"})
    age(tmp_path / "f.txt")
    cache = tmp_path / "cache.json"
    workspace_matches(tmp_path, [ref("f.txt")], cache_path=cache)
    monkeypatch.setattr(dvc_match, "hash_file", lambda path: pytest.fail(f"hashed {path}"))

    assert workspace_matches(tmp_path, [ref("f.txt")], cache_path=cache) == {"f.txt": True}


def test_hash_cache_does_not_trust_recently_modified_files(tmp_path):
    write(tmp_path, {"f.txt": "a"})
    cache = tmp_path / "cache.json"

    workspace_matches(tmp_path, [ref("f.txt")], cache_path=cache)

    assert not cache.exists()


def test_hash_cache_entry_is_invalidated_by_a_stat_change(tmp_path):
    write(tmp_path, {"f.txt": "a"})
    age(tmp_path / "f.txt", 120)
    cache = tmp_path / "cache.json"
    workspace_matches(tmp_path, [ref("f.txt")], cache_path=cache)
    write(tmp_path, {"f.txt": "b"})
    age(tmp_path / "f.txt", 60)

    assert workspace_matches(tmp_path, [ref("f.txt")], cache_path=cache) == {"f.txt": False}


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", '{"version": 99, "entries": {}}', '{"version": 1}'],
    ids=["garbage", "list", "other-version", "no-entries"],
)
def test_unusable_hash_cache_is_ignored_and_rewritten(tmp_path, content):
    write(tmp_path, {"f.txt": "a", "cache.json": content})
    age(tmp_path / "f.txt")

    result = workspace_matches(tmp_path, [ref("f.txt")], cache_path=tmp_path / "cache.json")

    assert result == {"f.txt": True}
    assert json.loads((tmp_path / "cache.json").read_text())["version"] == 1


MD5_FOO = "acbd18db4cc2f85cedef654fccc4a4d8"  # md5(b"foo")
FILES_DVC = f"""\
outs:
- hash: md5
  path: imgs
  files:
  - relpath: bar
    md5: {MD5_FOO}
    size: 3
    cloud:
      s3v:
        etag: {MD5_FOO}
        version_id: WYRG4BglP7pD.gEoJP6a4AqOhl.FRA.h
  - relpath: foo
    md5: {MD5_FOO}
    size: 3
    cloud:
      s3v:
        etag: {MD5_FOO}
        version_id: 0vL53tFVY5vVAoJ4HG2jCS1mEcohDPE0
"""
FILES_DIGEST = "ed7214b961855526e699126940c4fbe8.dir"
"""`Tree.from_list(files, hash_name="md5").digest()` in dvc_data for the two files above."""


def test_files_list_is_recorded_with_dvcs_digest_count_size_and_versions(tmp_path):
    files = write(tmp_path, {"imgs.dvc": FILES_DVC})

    scan = read_data_refs(tmp_path, files)

    (found,) = scan.refs
    assert scan.errors == ()
    assert (found.path, found.algorithm, found.value) == ("imgs", "md5", FILES_DIGEST)
    assert (found.nfiles, found.size, found.is_dir) == (2, 6, True)
    assert dvc_files.is_input(found.role, found.source)
    assert [(f.relpath, f.md5, f.size, f.remote) for f in found.files] == [
        ("bar", MD5_FOO, 3, "s3v"),
        ("foo", MD5_FOO, 3, "s3v"),
    ]
    assert found.files[0].version_id == "WYRG4BglP7pD.gEoJP6a4AqOhl.FRA.h"
    assert found.cloud_remote == "s3v"


def test_files_list_of_dvc_2_keeps_version_ids_beside_the_md5(tmp_path):
    """DVC 2 wrote `etag`, `version_id` and `remote` on the file entry itself."""
    entry = f"  - relpath: foo\n    md5: {MD5_FOO}\n    size: 3\n    version_id: v1\n    etag: e\n    remote: old\n"
    files = write(tmp_path, {"imgs.dvc": f"outs:\n- path: imgs\n  files:\n{entry}"})

    (found,) = read_data_refs(tmp_path, files).refs

    assert found.algorithm == "md5-dos2unix"
    assert found.files[0].version_id == "v1"
    assert found.cloud_remote == "old"


def test_files_listed_directory_matches_the_workspace_like_any_directory(tmp_path):
    files = write(tmp_path, {"imgs.dvc": FILES_DVC, "imgs/bar": "foo", "imgs/foo": "foo"})
    (found,) = read_data_refs(tmp_path, files).refs

    assert workspace_matches(tmp_path, [found]) == {"imgs": True}
    (tmp_path / "imgs/foo").write_text("fob")
    assert workspace_matches(tmp_path, [found]) == {"imgs": False}


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (
            "  - relpath: ../../etc/passwd\n    md5: x\n",
            "files[0] relpath '../../etc/passwd' leaves its directory",
        ),
        ("  - md5: x\n", "files[0] has no relpath and md5"),
        ("  - relpath: a\n", "files[0] has no relpath and md5"),
    ],
    ids=["escapes", "no-relpath", "no-md5"],
)
def test_bad_files_entry_is_an_error_line(tmp_path, entry, error):
    files = write(tmp_path, {"imgs.dvc": f"outs:\n- path: imgs\n  hash: md5\n  files:\n{entry}"})

    assert read_data_refs(tmp_path, files) == dvc_files.DataScan((), (f"imgs.dvc: outs[0] {error}",))
