"""Unit tests for ledger.capture.environment: capture, digest, JSON, requirements and diff."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sys
import time
import zipfile
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pytest

from ledger.capture.environment import capture_environment, normalize_name
from ledger.core.errors import StoreError
from ledger.core.lockfile import Environment, Package, diff_environments

if TYPE_CHECKING:
    from pathlib import Path

SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


def make_dist(
    site: Path,
    name: str,
    version: str,
    direct_url: dict[str, Any] | str | None = None,
    *,
    egg: bool = False,
) -> Path:
    """Write a minimal `<name>-<version>.dist-info` (or legacy `<name>.egg-info`)."""
    stem = name.replace("-", "_")
    info = site / (f"{stem}.egg-info" if egg else f"{stem}-{version}.dist-info")
    info.mkdir(parents=True)
    body = "A long description.\n\nName: not-a-header\n"
    header = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    (info / ("PKG-INFO" if egg else "METADATA")).write_text(f"{header}\n{body}")
    if direct_url is not None:
        text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
        (info / "direct_url.json").write_text(text)
    return info


def make_env(*packages: Package, **overrides: Any) -> Environment:
    fields: dict[str, Any] = {
        "python_version": "3.11.7",
        "implementation": "CPython",
        "platform": "Linux-6.1-x86_64-with-glibc2.36",
        "packages": packages,
    }
    return Environment(**(fields | overrides))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "site-packages"
    path.mkdir()
    return path


def by_name(env: Environment) -> dict[str, Package]:
    return {p.name: p for p in env.packages}


# --- the running venv -------------------------------------------------------


@pytest.mark.parametrize("dist", ["PyYAML", "SQLAlchemy", "pytest"])
def test_real_venv_versions_match_importlib(dist: str) -> None:
    env = capture_environment()
    assert by_name(env)[normalize_name(dist)].version == metadata.version(dist)


def test_real_venv_describes_this_interpreter() -> None:
    env = capture_environment()
    assert env.python_version == ".".join(map(str, sys.version_info[:3]))
    assert env.implementation == "CPython"
    assert env.platform
    assert env.torch is None or env.torch == metadata.version("torch")


def test_real_venv_packages_are_sorted_and_unique() -> None:
    names = [p.name for p in capture_environment().packages]
    assert names == sorted(set(names))


def test_capture_reads_the_real_venv() -> None:
    env = capture_environment()
    assert len(env.packages) > 50


# --- a fake site directory ---------------------------------------------------


def test_index_install_without_direct_url(site: Path) -> None:
    make_dist(site, "Foo.Bar_baz", "1.2.3")
    (package,) = capture_environment(paths=[str(site)]).packages
    assert package == Package("foo-bar-baz", "1.2.3", "index")


def test_vcs_install(site: Path) -> None:
    make_dist(
        site,
        "mylib",
        "0.1",
        {
            "url": "https://github.com/acme/mylib.git",
            "vcs_info": {"vcs": "git", "commit_id": SHA, "requested_revision": "main"},
        },
    )
    (package,) = capture_environment(paths=[str(site)]).packages
    assert package.source == "vcs"
    assert package.url == "git+https://github.com/acme/mylib.git"
    assert package.commit == SHA
    assert not package.editable


def test_vcs_url_credentials_are_masked(site: Path) -> None:
    url = "https://user:s3cr3t@example.com/acme/mylib.git"
    make_dist(site, "mylib", "0.1", {"url": url, "vcs_info": {"vcs": "git"}})
    (package,) = capture_environment(paths=[str(site)]).packages
    assert package.url == "git+https://user:***@example.com/acme/mylib.git"
    assert package.commit is None


@pytest.mark.parametrize("editable", [True, False], ids=["editable", "not-editable"])
def test_local_directory_install(site: Path, *, editable: bool) -> None:
    info = {"url": "file:///home/me/my%20proj", "dir_info": {"editable": editable}}
    make_dist(site, "proj", "0.0.1", info)
    (package,) = capture_environment(paths=[str(site)]).packages
    assert package.source == "local"
    assert package.url == "file:///home/me/my%20proj"
    assert package.editable is editable


def test_archive_install(site: Path) -> None:
    url = "https://example.com/pkgs/thing-2.0.tar.gz"
    make_dist(site, "thing", "2.0", {"url": url, "archive_info": {"hash": "sha256=0"}})
    (package,) = capture_environment(paths=[str(site)]).packages
    assert (package.source, package.url) == ("url", url)


@pytest.mark.parametrize(
    "direct_url",
    ["{not json", json.dumps({"no": "url"}), json.dumps({"url": "https://x/y"})],
    ids=["malformed", "no-url", "no-info-key"],
)
def test_unreadable_direct_url_is_unknown(site: Path, direct_url: str) -> None:
    make_dist(site, "odd", "1.0", direct_url)
    (package,) = capture_environment(paths=[str(site)]).packages
    assert package.source == "unknown"


def test_first_distribution_on_the_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "site-packages", tmp_path / "b" / "site-packages"
    make_dist(first, "dup", "2.0")
    make_dist(second, "dup", "1.0")
    make_dist(second, "other", "1.0")
    env = capture_environment(paths=[str(first), str(second)])
    assert {p.name: p.version for p in env.packages} == {"dup": "2.0", "other": "1.0"}


def test_metadata_dir_without_name_is_skipped(site: Path) -> None:
    (site / "broken-1.0.dist-info").mkdir()
    make_dist(site, "fine", "1.0")
    assert [p.name for p in capture_environment(paths=[str(site)]).packages] == ["fine"]


def test_egg_info_in_a_source_tree_is_an_editable_checkout(tmp_path: Path) -> None:
    make_dist(tmp_path / "checkout", "proj", "0.3", egg=True)
    (package,) = capture_environment(paths=[str(tmp_path / "checkout")]).packages
    assert package.source == "local"
    assert package.editable
    assert package.url == (tmp_path / "checkout").resolve().as_uri()


def test_egg_info_in_site_packages_is_an_index_install(site: Path) -> None:
    make_dist(site, "old", "0.9", egg=True)
    (package,) = capture_environment(paths=[str(site)]).packages
    assert package == Package("old", "0.9", "index")


@pytest.mark.parametrize(
    ("version_py", "cuda"),
    [
        ("__version__ = '2.3.0+cu121'\ncuda: Optional[str] = '12.1'\n", "12.1"),
        ("__version__ = '2.3.0'\ncuda = '11.8'\n", "11.8"),
        ("__version__ = '2.3.0+cpu'\ncuda: Optional[str] = None\n", None),
        (None, None),
    ],
    ids=["annotated", "plain", "cpu-build", "no-version-py"],
)
def test_torch_and_cuda_read_from_files(site: Path, version_py: str | None, cuda: str | None) -> None:
    make_dist(site, "torch", "2.3.0+cu121")
    if version_py is not None:
        (site / "torch").mkdir()
        (site / "torch" / "version.py").write_text(version_py)
    env = capture_environment(paths=[str(site)])
    assert (env.torch, env.cuda) == ("2.3.0+cu121", cuda)


def test_no_torch_means_no_cuda(site: Path) -> None:
    make_dist(site, "numpy", "2.0.0")
    env = capture_environment(paths=[str(site)])
    assert (env.torch, env.cuda) == (None, None)


# --- digest and JSON ----------------------------------------------------------


def test_digest_is_stable_for_equal_environments() -> None:
    a, b = Package("a", "1", "index"), Package("b", "2", "index")
    assert make_env(a, b).digest == make_env(b, a).digest
    assert len(make_env(a).digest) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"python_version": "3.11.8"},
        {"implementation": "PyPy"},
        {"platform": "Darwin-23.1-arm64"},
        {"torch": "2.3.0"},
        {"cuda": "12.1"},
        {"packages": (Package("a", "1.1", "index"),)},
        {"packages": (Package("a", "1", "local", url="file:///a", editable=True),)},
        {"packages": (Package("a", "1", "vcs", url="git+https://x/a", commit=SHA),)},
        {"packages": ()},
    ],
    ids=[
        "python",
        "impl",
        "platform",
        "torch",
        "cuda",
        "version",
        "source",
        "vcs",
        "empty",
    ],
)
def test_digest_changes_with_any_field(change: dict[str, Any]) -> None:
    base = make_env(Package("a", "1", "index"))
    assert make_env(Package("a", "1", "index"), **change).digest != base.digest


def test_json_round_trips_exactly() -> None:
    env = make_env(
        Package("a", "1", "index"),
        Package("b", "2", "vcs", url="git+https://x/b", commit=SHA),
        Package("c", "3", "local", url="file:///c", editable=True),
        torch="2.3.0",
        cuda="12.1",
    )
    again = Environment.from_json(env.to_json())
    assert again == env
    assert again.to_json() == env.to_json()
    assert again.digest == env.digest


def test_real_environment_round_trips() -> None:
    env = capture_environment()
    assert Environment.from_json(env.to_json()) == env


@pytest.mark.parametrize(
    "text",
    ["{", "[]", json.dumps({"python_version": "3.11"}), '{"packages": [1]}'],
    ids=["malformed", "not-object", "missing-fields", "bad-package"],
)
def test_from_json_rejects_bad_input(text: str) -> None:
    with pytest.raises(StoreError, match="stored environment is unreadable"):
        Environment.from_json(text)


# --- requirements -------------------------------------------------------------


@pytest.mark.parametrize(
    ("package", "line"),
    [
        (Package("pyyaml", "6.0.2", "index"), "pyyaml==6.0.2"),
        (
            Package("lib", "0.1", "vcs", url="git+https://github.com/a/lib", commit=SHA),
            f"lib @ git+https://github.com/a/lib@{SHA}",
        ),
        (
            Package("lib", "0.1", "vcs", url="git+https://github.com/a/lib"),
            "lib @ git+https://github.com/a/lib",
        ),
        (
            Package("proj", "0", "local", url="file:///home/me/my%20proj", editable=True),
            "-e /home/me/my proj",
        ),
        (
            Package("proj", "0", "local", url="file:///home/me/proj"),
            "proj @ file:///home/me/proj",
        ),
        (
            Package("thing", "2.0", "url", url="https://x/thing-2.0.tar.gz"),
            "thing @ https://x/thing-2.0.tar.gz",
        ),
        (
            Package("odd", "1.0", "unknown"),
            "# odd==1.0: source unknown, install it by hand",
        ),
    ],
    ids=[
        "index",
        "vcs",
        "vcs-no-commit",
        "editable",
        "local-dir",
        "archive",
        "unknown",
    ],
)
def test_requirement_lines(package: Package, line: str) -> None:
    assert package.requirement == line


def test_to_requirements_is_a_sorted_lockfile_with_a_header() -> None:
    env = make_env(Package("zeta", "1", "index"), Package("alpha", "2", "index"))
    header, *lines = env.to_requirements().splitlines()
    assert header.startswith(f"# exp-ledger environment {env.digest[:12]}: CPython")
    assert lines == ["alpha==2", "zeta==1"]
    assert env.to_requirements().endswith("\n")


# --- diff ---------------------------------------------------------------------


def test_identical_environments_have_an_empty_diff() -> None:
    env = make_env(Package("a", "1", "index"), cuda="12.1")
    diff = diff_environments(env, env)
    assert diff.is_empty
    assert (diff.added, diff.removed, diff.changed) == ((), (), ())


def test_diff_added_removed_changed() -> None:
    old = make_env(
        Package("kept", "1", "index"),
        Package("gone", "1", "index"),
        Package("bumped", "1.0", "index"),
    )
    new = make_env(
        Package("kept", "1", "index"),
        Package("bumped", "2.0", "index"),
        Package("fresh", "0.1", "index"),
    )
    diff = diff_environments(old, new)
    assert [p.name for p in diff.added] == ["fresh"]
    assert [p.name for p in diff.removed] == ["gone"]
    (change,) = diff.changed
    assert (change.name, change.old.version, change.new.version) == (
        "bumped",
        "1.0",
        "2.0",
    )
    assert change.summary == "bumped 1.0 -> 2.0"
    assert not diff.is_empty


def test_diff_sees_a_commit_change_at_the_same_version() -> None:
    other = "0" * 40
    old = make_env(Package("lib", "0.1", "vcs", url="git+https://x/lib", commit=SHA))
    new = make_env(Package("lib", "0.1", "vcs", url="git+https://x/lib", commit=other))
    (change,) = diff_environments(old, new).changed
    assert change.summary == (
        f"lib 0.1 (vcs git+https://x/lib@{SHA[:12]}) -> 0.1 (vcs git+https://x/lib@000000000000)"
    )


def test_diff_sees_a_source_change_at_the_same_version() -> None:
    old = make_env(Package("proj", "0.1", "index"))
    new = make_env(Package("proj", "0.1", "local", url="file:///p", editable=True))
    (change,) = diff_environments(old, new).changed
    assert change.summary == "proj 0.1 -> 0.1 (editable file:///p)"


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        ({"python_version": "3.12.1"}, "python", ("CPython 3.11.7", "CPython 3.12.1")),
        ({"implementation": "PyPy"}, "python", ("CPython 3.11.7", "PyPy 3.11.7")),
        (
            {"platform": "Darwin-23-arm64"},
            "platform",
            ("Linux-6.1-x86_64-with-glibc2.36", "Darwin-23-arm64"),
        ),
        ({"cuda": "12.1"}, "cuda", (None, "12.1")),
    ],
    ids=["python-version", "implementation", "platform", "cuda"],
)
def test_diff_interpreter_and_platform(
    change: dict[str, Any], field: str, expected: tuple[str | None, str]
) -> None:
    old = make_env(Package("a", "1", "index"))
    diff = diff_environments(old, dataclasses.replace(old, **change))
    assert getattr(diff, field) == expected
    assert not diff.is_empty
    assert diff.changed == ()


# --- reuse within a process (a sweep captures once per trial) ----------------


def _settle(folder: Path) -> None:
    """Make the folder's last change a minute old, as a site-packages between installs is."""
    old = time.time() - 60
    os.utime(folder, (old, old))


def test_an_unchanged_path_gives_the_same_capture(site: Path) -> None:
    make_dist(site, "foo", "1.0")
    _settle(site)

    first = capture_environment(paths=[str(site)])

    assert capture_environment(paths=[str(site)]) is first


def test_install_upgrade_and_uninstall_are_seen_by_the_next_capture(site: Path) -> None:
    info = make_dist(site, "foo", "1.0")
    _settle(site)
    assert by_name(capture_environment(paths=[str(site)]))["foo"].version == "1.0"

    make_dist(site, "bar", "0.1")  # pip install bar
    assert set(by_name(capture_environment(paths=[str(site)]))) == {"foo", "bar"}

    shutil.rmtree(info)  # pip install -U foo: the old dist-info goes, a new one comes
    make_dist(site, "foo", "2.0")
    assert by_name(capture_environment(paths=[str(site)]))["foo"].version == "2.0"

    shutil.rmtree(site / "bar-0.1.dist-info")  # pip uninstall bar
    assert set(by_name(capture_environment(paths=[str(site)]))) == {"foo"}


def test_a_reinstall_of_the_same_version_from_elsewhere_is_seen(site: Path) -> None:
    info = make_dist(site, "foo", "1.0")
    _settle(site)
    assert by_name(capture_environment(paths=[str(site)]))["foo"].source == "index"

    shutil.rmtree(info)  # pip install --force-reinstall ./foo: same name, maybe the same inode
    make_dist(site, "foo", "1.0", {"url": "file:///src/foo", "dir_info": {}})

    assert by_name(capture_environment(paths=[str(site)]))["foo"].source == "local"


def test_a_change_within_the_mtime_tick_of_a_fresh_folder_is_seen(site: Path) -> None:
    """A folder changed just now may change again without its mtime moving: its listing
    is not trusted until it settles (git's racy-index rule)."""
    make_dist(site, "foo", "1.0")
    now = time.time_ns()
    os.utime(site, ns=(now, now))
    assert set(by_name(capture_environment(paths=[str(site)]))) == {"foo"}

    make_dist(site, "bar", "0.1")
    os.utime(site, ns=(now, now))  # the same mtime as before the install

    assert set(by_name(capture_environment(paths=[str(site)]))) == {"foo", "bar"}


def test_a_develop_egg_info_rewritten_in_place_is_seen(site: Path) -> None:
    info = make_dist(site, "proj", "0.1", egg=True)
    _settle(site)
    assert by_name(capture_environment(paths=[str(site)]))["proj"].version == "0.1"

    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: proj\nVersion: 0.2\n")  # setup.py develop
    later = time.time_ns() + 10_000_000
    os.utime(info / "PKG-INFO", ns=(later, later))

    assert by_name(capture_environment(paths=[str(site)]))["proj"].version == "0.2"


def test_a_folder_added_to_sys_path_is_seen(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dist(site, "late-plugin", "3.0")
    assert "late-plugin" not in by_name(capture_environment())

    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])

    assert by_name(capture_environment())["late-plugin"].version == "3.0"


def test_a_distribution_inside_a_zip_on_the_path_is_found(tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped-1.5.dist-info/METADATA", "Metadata-Version: 2.1\nName: zipped\nVersion: 1.5\n")
        zf.writestr("zipped/__init__.py", "")

    (package,) = capture_environment(paths=[str(archive)]).packages

    assert (package.name, package.version) == ("zipped", "1.5")


def test_the_lockfile_text_and_digest_are_the_dataclass_s_canonical_json() -> None:
    """Built by hand for speed, the JSON must stay what `asdict` gave: stored digests
    are content addresses, and a different text would store every environment twice."""
    env = capture_environment()

    expected = json.dumps(dataclasses.asdict(env), sort_keys=True, separators=(",", ":"))

    assert env.to_json() == expected
    assert env.digest == hashlib.sha256(expected.encode()).hexdigest()
    assert Environment.from_json(env.to_json()) == env
