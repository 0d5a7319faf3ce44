"""Plain records of runs: what crosses from the store to the CLI, the TUI and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ledger.core.chunks import Points
    from ledger.core.ids import RunId
    from ledger.core.lockfile import Environment
    from ledger.core.param_values import ParamValue
    from ledger.core.summary import RunSummary
    from ledger.core.torch_runtime import TorchRuntime
    from ledger.core.verdict import ReproductionLink


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter with its exact type and where it came from."""

    key: str
    value: ParamValue
    source: str


@dataclass(frozen=True, slots=True)
class Metric:
    """The final value of one metric; `step` is None for values read from a file."""

    key: str
    value: float
    step: int | None
    source: str


@dataclass(frozen=True, slots=True)
class DataFile:
    """One file of a directory DVC lists file by file (`files:`, cloud-versioned remotes)."""

    relpath: str
    md5: str
    size: int | None = None
    version_id: str | None = None
    """The object's version on the remote: the only way to fetch exactly this file."""
    etag: str | None = None
    remote: str | None = None


@dataclass(frozen=True, slots=True)
class DataItem:
    """A DVC-tracked path as the run saw it."""

    path: str
    role: str
    algorithm: str
    value: str
    size: int | None
    nfiles: int | None
    source: str
    stage: str | None
    workspace_match: bool | None
    checked: str | None = None
    """When `workspace_match` was taken: `start` (inputs: deps and `.dvc` data, as the run
    found them), `end` (outputs, as the run left them); None in records older than this."""
    files: tuple[DataFile, ...] = ()
    """Per-file hashes when DVC lists them (`files:`); empty for plain `.dir` hashes."""


@dataclass(frozen=True, slots=True)
class OutputFile:
    """A file the run wrote; `value` is None when it was too big to hash."""

    path: str
    algorithm: str
    value: str | None
    size: int


@dataclass(frozen=True, slots=True)
class NewRun:
    """What is known of a run when it starts."""

    id: RunId
    source: str
    started_at: float
    name: str | None = None
    argv: Sequence[str] = ()
    cwd: str | None = None
    repo: str | None = None
    host: str | None = None
    user: str | None = None
    pid: int | None = None
    pid_start: str | None = None
    seeds: Mapping[str, object] = field(default_factory=dict)
    env_vars: Mapping[str, str] = field(default_factory=dict)
    commit: str | None = None
    branch: str | None = None
    snapshot: str | None = None
    dirty: bool | None = None
    snapshot_skipped: Sequence[tuple[str, str]] = ()
    environment: Environment | None = None
    capture_errors: Sequence[str] = ()
    tags: Sequence[str] = ()
    params: Sequence[Param] = ()
    data: Sequence[DataItem] = ()
    status: str = "running"
    interpreter: str | None = None
    """The Python interpreter the command runs its code with (full path), if any."""


@dataclass(frozen=True, slots=True)
class RunEnd:
    """What is learnt when a run ends."""

    status: str
    ended_at: float
    exit_code: int | None = None
    peak_rss: int | None = None
    metrics: Sequence[Metric] = ()
    outputs: Sequence[OutputFile] = ()
    data: Sequence[DataItem] = ()
    capture_errors: Sequence[str] = ()
    params: Sequence[Param] = ()
    """Params only known at the end: those in files the run wrote."""
    log: bytes | None = None
    log_size: int = 0
    log_truncated: bool = False
    run_folders: Sequence[str] = ()
    """The run's own folders: made and written into during it (`ledger.capture.run_folder`)."""
    torch: TorchRuntime | None = None
    """The torch build and CUDA devices the run had, if it imported torch."""
    log_series: Mapping[str, Points] = field(default_factory=dict)
    """Series read from the log (`ledger.capture.log_scalars`), minus keys recorded otherwise."""
    seeds: Mapping[str, object] = field(default_factory=dict)
    """Seeds the run's processes set (`torch.manual_seed`: 42), joined to those recorded at start."""
    ignored_inputs: Sequence[OutputFile] = ()
    """Files git ignores and DVC does not track that the run read."""


@dataclass(frozen=True, slots=True)
class Annotation:
    """A tag, note or archive mark someone put on a run, as a team server attributed it."""

    kind: str
    """`tag`, `untag`, `note`, `archive` or `unarchive`."""
    value: str | None
    author: str
    created_at: float


@dataclass(frozen=True, slots=True)
class RunDetail:
    """Everything the ledger knows about one run (`ledger show`)."""

    summary: RunSummary
    argv: tuple[str, ...]
    cwd: str | None
    repo: str | None
    host: str | None
    user: str | None
    pid: int | None
    peak_rss: int | None
    seeds: dict[str, object]
    env_vars: dict[str, str]
    snapshot: str | None
    snapshot_skipped: tuple[tuple[str, str], ...]
    environment_digest: str | None
    capture_errors: tuple[str, ...]
    note: str | None
    params: tuple[Param, ...]
    metrics: tuple[Metric, ...]
    series_keys: tuple[str, ...]
    data: tuple[DataItem, ...]
    outputs: tuple[OutputFile, ...]
    log_size: int | None
    log_truncated: bool
    linked_commits: tuple[str, ...] = ()
    """Later commits that hold this run's code and results (found by the post-commit hook)."""
    reproduces: ReproductionLink | None = None
    """The run this one reproduces, with the verdict (`ledger reproduce`)."""
    reproduced_by: tuple[ReproductionLink, ...] = ()
    """Reproductions of this run, oldest first."""
    run_folders: tuple[str, ...] = ()
    """Folders the run made and wrote into (its log folder)."""
    torch: TorchRuntime | None = None
    """The torch build and CUDA devices the run had; None if it did not import torch."""
    interpreter: str | None = None
    """The Python interpreter the run's command used; None if unknown (older records)."""
    ignored_inputs: tuple[OutputFile, ...] = ()
    """Files git ignores and DVC does not track that the run read."""
    owner: str | None = None
    """The server role that recorded the run; None on SQLite (one person's ledger)."""
    digest: str | None = None
    """The record's digest, taken when the run ended (`ledger.store.evidence`)."""
    annotations: tuple[Annotation, ...] = ()
    """Who tagged, noted or archived the run and when, oldest first (team ledgers only)."""
