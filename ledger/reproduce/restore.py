"""Restore a run's DVC-tracked data into a reproduction's worktree with DVC, and verify it.

The worktree's DVC files are the run's snapshot, so DVC itself knows what to check
out. The worktree is pointed at the repository's own DVC cache (and its remotes,
with relative paths made absolute); objects missing from the cache are fetched from
the remote first. Data DVC lists file by file (`files:`, cloud-versioned remotes) is
copied from the cache by each file's md5 instead: DVC will not check it out without
the cloud remote's plugin, and its missing files can only come from that remote by
version ID, which needs the network and credentials (`dvc pull`), so they are never
fetched here. Nothing is run unless every path the run read is back, byte for byte:
`ledger.dvc.match.workspace_matches` checks each against the recorded hash.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ledger.core.errors import ReproduceError
from ledger.dvc.cache import (
    absolute,
    find_cache,
    in_cache,
    object_path,
    parse_config,
    read_text,
    render_config,
)
from ledger.dvc.files import read_data_refs
from ledger.dvc.match import workspace_matches
from ledger.git.command import scrubbed_env

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ledger.core.records import DataItem
    from ledger.dvc.files import DataRef

DVC_FILE_NAMES = ("dvc.lock", "dvc.yaml")
DVC_FILE_SUFFIX = ".dvc"


@dataclass(frozen=True, slots=True)
class DvcSetup:
    """Where DVC finds data for the worktree: the repository's cache and default remote."""

    cache_dir: Path
    remote: str | None
    remote_url: str | None
    local_config: str
    """The worktree's `.dvc/config.local`: the repository's, with absolute cache and remote paths."""


@dataclass(frozen=True, slots=True)
class DataRestore:
    """One DVC-tracked path to put back, as the snapshot's DVC files declare it."""

    ref: DataRef
    recorded: str | None
    """The hash the original run recorded for the path; None if it recorded none."""
    in_cache: bool

    @property
    def required(self) -> bool:
        """The run saw exactly this data, so the reproduction cannot do without it.

        A path whose recorded hash differs was written by the run itself: restoring
        its earlier version gives `dvc repro` the same starting point, but the run
        makes it again if it is missing.
        """
        return self.recorded == self.ref.value

    @property
    def label(self) -> str:
        """`data/raw (md5 3f2a...dir)`: how errors and the plan name it."""
        return f"{self.ref.path} ({self.ref.algorithm} {self.ref.value})"

    @property
    def cloud_only(self) -> bool:
        """Missing from the cache, and held only by a cloud-versioned remote (by version ID)."""
        return not self.in_cache and self.ref.cloud_remote is not None


def find_dvc() -> str | None:
    """The `dvc` program beside this interpreter (its virtualenv), else on PATH."""
    beside = Path(sys.executable).with_name("dvc")
    return str(beside) if beside.is_file() else shutil.which("dvc")


def snapshot_refs(files: Mapping[str, bytes]) -> tuple[DataRef, ...]:
    """The outputs the snapshot's DVC files declare (`files`: path -> content, from git)."""
    files = {name: content for name, content in files.items() if name != ".dvc/config"}
    with tempfile.TemporaryDirectory(prefix="ledger-dvc-files-") as tmp:
        root = Path(tmp)
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        scan = read_data_refs(root, list(files))
    return tuple(ref for ref in scan.refs if ref.role == "out")


def plan_data(
    refs: Sequence[DataRef], recorded: Sequence[DataItem], cache_dir: Path
) -> tuple[list[DataRestore], list[str]]:
    """What to restore, and notes on how the record and the snapshot differ."""
    seen = {d.path: d for d in recorded if d.role == "out"}
    items = [DataRestore(ref, _recorded(seen.get(ref.path)), in_cache(cache_dir, ref)) for ref in refs]
    notes = []
    for item in items:
        data = seen.get(item.ref.path)
        if data is not None and item.required and data.workspace_match is False:
            when = {"start": " when it started", "end": " when it ended"}.get(data.checked or "", "")
            notes.append(
                f"{item.ref.path}: the original run's files did not match DVC's record{when}; "
                "the reproduction uses DVC's version"
            )
    declared = {ref.path for ref in refs}
    notes += [
        f"{path}: written by the run (no DVC file declared it before)"
        for path in seen
        if path not in declared
    ]
    return items, notes


def dvc_setup(root: Path, snapshot_files: Mapping[str, bytes]) -> DvcSetup:
    """Read the repository's DVC config and the snapshot's, for the worktree's `config.local`."""
    dot_dvc = root / ".dvc"
    local = parse_config(read_text(dot_dvc / "config.local"))
    snapshot = parse_config(snapshot_files.get(".dvc/config", b"").decode(errors="replace"))
    cache_dir = find_cache(root)
    merged = {name: dict(values) for name, values in local.items()}
    merged.setdefault("cache", {})["dir"] = str(cache_dir)
    for name in set(snapshot) | set(local):
        if name.startswith("remote "):
            url = local.get(name, {}).get("url") or snapshot.get(name, {}).get("url")
            if url and _is_local_path(url):
                merged.setdefault(name, {})["url"] = str(absolute(dot_dvc, url))
    remote = local.get("core", {}).get("remote") or snapshot.get("core", {}).get("remote")
    url = None if remote is None else merged.get(f'remote "{remote}"', {}).get("url")
    if remote is not None and url is None:
        url = snapshot.get(f'remote "{remote}"', {}).get("url")
    return DvcSetup(cache_dir, remote, url, render_config(merged))


def restore(
    worktree: Path, items: Sequence[DataRestore], setup: DvcSetup, *, dvc: str
) -> list[tuple[str, str]]:
    """Fetch what the cache lacks, check everything out, verify it; returns each path
    with what happened to it, once.

    Raises:
        ReproduceError: data the run read is in neither the cache nor the remote, DVC
            failed, or a restored path does not hash to the recorded value.
    """
    (worktree / ".dvc").mkdir(exist_ok=True)
    (worktree / ".dvc" / "config.local").write_text(setup.local_config)
    missing = [i for i in items if not in_cache(setup.cache_dir, i.ref)]
    fetch_error = ""
    fetchable = [i for i in missing if not i.ref.files]
    if fetchable and setup.remote is not None:
        proc = _dvc(dvc, worktree, "fetch", *(i.ref.path for i in fetchable))
        fetch_error = _last_line(proc.stderr or proc.stdout) if proc.returncode else ""
    fetched = {i.ref.path for i in fetchable if in_cache(setup.cache_dir, i.ref)}
    missing = [i for i in missing if i.ref.path not in fetched]
    lost = [i for i in missing if i.required]
    if lost:
        raise ReproduceError(missing_message(lost, setup, fetch_error), hint=_missing_hint(setup, lost))
    ready = [i for i in items if i not in missing]
    listed = [i for i in ready if i.ref.files]
    for item in listed:
        _copy_listed(worktree, setup.cache_dir, item.ref)
    checkout = checkout_targets([i for i in ready if i not in listed], items)
    if checkout:
        proc = _dvc(dvc, worktree, "checkout", *checkout, quiet=False)
        if proc.returncode != 0:
            said = " | ".join(_lines(proc.stderr or proc.stdout)[-4:]) or "no output"
            raise ReproduceError(f"dvc checkout {' '.join(checkout)} failed in {worktree}: DVC said: {said}")
    verified = workspace_matches(worktree, [i.ref for i in ready])
    wrong = [i for i in ready if verified.get(i.ref.path) is False]
    if wrong:
        names = ", ".join(i.label for i in wrong)
        raise ReproduceError(
            f"restored data does not match its recorded hash: {names}",
            hint="dvc cache may be corrupt: dvc gc / dvc pull --force",
        )
    remote = f"from the DVC remote {setup.remote!r} (fetched into the cache)"
    done = []
    for item in items:
        if item in missing:
            how = f"not restored: its earlier version {item.ref.value} is in neither the cache nor the remote; the run makes it again"
        else:
            source = remote if item.ref.path in fetched else "from the DVC cache"
            source += ", copied file by file by md5" if item.ref.files else ""
            check = "hash not checked (DVC 2 hash)" if verified.get(item.ref.path) is None else "verified"
            how = f"restored {source}, {check}"
        done.append((item.ref.path, how))
    return done


def checkout_targets(ready: Sequence[DataRestore], items: Sequence[DataRestore]) -> list[str]:
    """What to name to `dvc checkout`: the `.dvc` file or the stage, not the output path.

    DVC 3 refuses an absent output path that a parent ignore rule could match (`/data/*`),
    which is just what a fresh worktree has; by its `.dvc` file or stage it restores it.
    A stage is named only when every output it has is to be restored; otherwise its
    outputs are named one by one.
    """
    targets: dict[str, None] = {}
    for item in ready:
        ref = item.ref
        if ref.stage is None:
            targets[ref.source] = None
            continue
        siblings = [i for i in items if i.ref.source == ref.source and i.ref.stage == ref.stage]
        if all(s in ready for s in siblings):
            folder = PurePosixPath(ref.source).parent
            targets[ref.stage if folder == PurePosixPath(".") else f"{folder}/dvc.yaml:{ref.stage}"] = None
        else:
            targets[ref.path] = None
    return list(targets)


def is_dvc_file(path: str) -> bool:
    """Whether a path is one of the files DVC keeps hashes and stages in."""
    pure = PurePosixPath(path)
    return pure.name in DVC_FILE_NAMES or pure.suffix == DVC_FILE_SUFFIX or path == ".dvc/config"


def missing_message(lost: Sequence[DataRestore], setup: DvcSetup, fetch_error: str = "") -> str:
    """One line naming every missing path and hash, and where they were looked for."""
    names = ", ".join(i.label for i in lost)
    cache = f"the DVC cache ({setup.cache_dir})"
    clouds = sorted({f"{i.ref.cloud_remote!r}" for i in lost if i.cloud_only})
    if clouds:
        return (
            f"data missing: {names} is not in {cache}; only the cloud-versioned remote "
            f"{', '.join(clouds)} holds it, by per-file version ID, which needs network access and "
            "its credentials: the ledger does not fetch it; nothing was run"
        )
    if setup.remote is None:
        where = f"not in {cache}, and no DVC remote is configured"
    else:
        where = f"in neither {cache} nor the DVC remote {setup.remote!r} ({setup.remote_url or 'no url'})"
    detail = f" (dvc fetch: {fetch_error})" if fetch_error else ""
    return f"data missing: {names} is {where}; nothing was run{detail}"


def _dvc(dvc: str, cwd: Path, *args: str, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dvc, *args, *(["--quiet"] if quiet else [])],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=scrubbed_env(),
        check=False,
    )


def _missing_hint(setup: DvcSetup, lost: Sequence[DataRestore]) -> str:
    cloud = [i.ref.path for i in lost if i.cloud_only]
    if cloud:
        return f"dvc pull {' '.join(cloud)} (online, with the remote's credentials), then reproduce again"
    if setup.remote is None:
        return "dvc push it from a machine that has it, to a remote configured here (dvc remote add -d ...)"
    return f"dvc push it to {setup.remote!r} from a machine that has it"


def _copy_listed(worktree: Path, cache_dir: Path, ref: DataRef) -> None:
    """Lay out a directory DVC lists file by file from the cache objects of its files."""
    target = worktree / ref.path
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    try:
        for file in ref.files:
            dest = target / file.relpath
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(object_path(cache_dir, ref.algorithm, file.md5), dest)
    except OSError as exc:
        raise ReproduceError(f"cannot restore {ref.path} from the DVC cache: {exc}") from exc


def _recorded(item: DataItem | None) -> str | None:
    return None if item is None else item.value


def _is_local_path(url: str) -> bool:
    return "://" not in url


def _last_line(text: str) -> str:
    lines = _lines(text)
    return lines[-1] if lines else "no output"


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]
