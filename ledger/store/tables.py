"""SQLAlchemy models of the ledger: one table per part of a run record.

Each class is named as a row (`RunRow`, `ParamRow`...), so it is never mistaken for the
plain record of the same thing (`ledger.core.records`), which is all code above the store sees.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ledger.core import limits

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Named constraints, so batch migrations on SQLite can address them."""


def _run_fk() -> ForeignKey:
    """A fresh foreign key to runs (a ForeignKey object belongs to one column)."""
    return ForeignKey("runs.id", ondelete="CASCADE")


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EnvironmentRow(Base):
    """A Python environment, content-addressed so identical ones are stored once."""

    __tablename__ = "environments"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    python_version: Mapped[str] = mapped_column(String(64))
    implementation: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(255))
    torch: Mapped[str | None] = mapped_column(String(64))
    cuda: Mapped[str | None] = mapped_column(String(32))
    lock: Mapped[str] = mapped_column(Text)
    """The whole environment as canonical JSON (`ledger.core.lockfile.Environment`)."""


class RunRow(Base):
    """One training run, or one commit that carried results."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(limits.NAME))
    status: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(16))
    """How the run got in: `run` (the wrapper), `api`, `commit` (a hook), `backfill`."""
    started_at: Mapped[float] = mapped_column(Float, index=True)
    ended_at: Mapped[float | None] = mapped_column(Float)
    heartbeat_at: Mapped[float | None] = mapped_column(Float)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    argv: Mapped[str | None] = mapped_column(Text)
    """JSON list, redacted."""
    cwd: Mapped[str | None] = mapped_column(Text)
    repo: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(limits.LABEL))
    user: Mapped[str | None] = mapped_column(String(limits.LABEL))
    pid: Mapped[int | None] = mapped_column(Integer)
    pid_start: Mapped[str | None] = mapped_column(String(32))
    """The process's start time as the OS reports it, so a reused PID is not mistaken."""
    peak_rss: Mapped[int | None] = mapped_column(BigInteger)
    seeds: Mapped[str | None] = mapped_column(Text)
    env_vars: Mapped[str | None] = mapped_column(Text)
    commit: Mapped[str | None] = mapped_column(String(40), index=True)
    branch: Mapped[str | None] = mapped_column(String(limits.LABEL))
    snapshot: Mapped[str | None] = mapped_column(String(40))
    dirty: Mapped[bool | None] = mapped_column(Boolean)
    snapshot_skipped: Mapped[str | None] = mapped_column(Text)
    """JSON list of [path, reason] for files the snapshot left out."""
    environment_digest: Mapped[str | None] = mapped_column(ForeignKey("environments.digest"), index=True)
    capture_errors: Mapped[str | None] = mapped_column(Text)
    """JSON list of one-line problems met while capturing (bad params file...)."""
    note: Mapped[str | None] = mapped_column(Text)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Hidden from listings unless asked for (the TUI's archive action)."""
    run_folders: Mapped[str | None] = mapped_column(Text)
    """JSON list of the folders the run made and wrote into (`lightning_logs/version_3`)."""
    torch_runtime: Mapped[str | None] = mapped_column(Text)
    """JSON `ledger.core.torch_runtime.TorchRuntime`: the torch build and the CUDA devices the run had."""
    interpreter: Mapped[str | None] = mapped_column(Text)
    """The Python interpreter the run's command used, as a full path (what a reproduction runs)."""
    ignored_inputs: Mapped[str | None] = mapped_column(Text)
    """JSON list of [path, algorithm, hash, size]: files git ignores and DVC does not track
    that the run read (`ledger.capture.ignored_inputs`)."""
    owner: Mapped[str | None] = mapped_column(String(limits.ROLE))
    """The server role that recorded the run, set by the server (`ledger.store.policies`);
    None on SQLite, which has no logins: a SQLite ledger is one person's."""
    digest: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the run's captured record, taken when it ended (`ledger.store.evidence`)."""

    tags: Mapped[list[TagRow]] = relationship(lazy="raise", cascade="all, delete-orphan")
    params: Mapped[list[ParamRow]] = relationship(lazy="raise", cascade="all, delete-orphan")
    metrics: Mapped[list[MetricRow]] = relationship(lazy="raise", cascade="all, delete-orphan")


class TagRow(Base):
    """A label on a run."""

    __tablename__ = "tags"

    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    tag: Mapped[str] = mapped_column(String(limits.TAG), primary_key=True, index=True)


class ParamRow(Base):
    """One flattened parameter; numbers also kept as floats so filters compare them."""

    __tablename__ = "params"
    __table_args__ = (Index("ix_params_key_num", "key", "num"),)

    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    key: Mapped[str] = mapped_column(String(limits.KEY), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    """`int`, `float`, `bool`, `str`, `null` or `json`: the value's type, kept exactly."""
    num: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(limits.SOURCE))


class MetricRow(Base):
    """The final value of one metric (the last step logged); NULL stands for NaN."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_key_value", "key", "value"),)

    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    key: Mapped[str] = mapped_column(String(limits.KEY), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    step: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(limits.SOURCE))


class SeriesRow(Base):
    """A metric's step series; its points live in `metric_chunks`."""

    __tablename__ = "series"
    __table_args__ = (Index("ix_series_run_key", "run_id", "key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(_run_fk())
    key: Mapped[str] = mapped_column(String(limits.KEY))


class MetricChunkRow(Base):
    """A block of points of one series, packed as arrays.

    Storing a block per flush instead of a row per point is what makes logging cost
    microseconds and about 20 bytes a point (see `ledger.core.chunks` for the format).
    """

    __tablename__ = "metric_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    count: Mapped[int] = mapped_column(Integer)
    first_step: Mapped[int] = mapped_column(BigInteger)
    last_step: Mapped[int] = mapped_column(BigInteger)
    codec: Mapped[str] = mapped_column(String(16))
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class DataRefRow(Base):
    """One DVC-tracked path with the hash the run saw."""

    __tablename__ = "data_refs"

    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    path: Mapped[str] = mapped_column(String(limits.PATH), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(BigInteger)
    nfiles: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(limits.PATH))
    stage: Mapped[str | None] = mapped_column(String(limits.LABEL))
    workspace_match: Mapped[bool | None] = mapped_column(Boolean)
    checked: Mapped[str | None] = mapped_column(String(8))
    """When `workspace_match` was taken: `start` (inputs) or `end` (outputs)."""
    files: Mapped[str | None] = mapped_column(Text)
    """JSON list of per-file entries for data DVC lists file by file (`files:`)."""


class OutputRow(Base):
    """A file the run wrote, with its hash."""

    __tablename__ = "outputs"

    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    path: Mapped[str] = mapped_column(String(limits.PATH), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(32))
    value: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)


class LogRow(Base):
    """The run's combined stdout/stderr, zlib-compressed and size-capped."""

    __tablename__ = "logs"

    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    """Bytes the run printed, before truncation."""
    truncated: Mapped[bool] = mapped_column(Boolean)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class CommitLinkRow(Base):
    """A later commit that holds a run's code and results (found by the post-commit hook)."""

    __tablename__ = "commit_links"

    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    commit: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    linked_at: Mapped[float] = mapped_column(Float)


class ReproductionRow(Base):
    """A run made by `ledger reproduce`, the run it reproduced, and the verdict."""

    __tablename__ = "reproductions"

    run_id: Mapped[str] = mapped_column(_run_fk(), primary_key=True)
    """The new run."""
    original_id: Mapped[str] = mapped_column(_run_fk(), index=True)
    matched: Mapped[bool | None] = mapped_column(Boolean)
    """Every metric within tolerance; None while the reproduction has not finished."""
    verdict: Mapped[str | None] = mapped_column(Text)
    """JSON list of per-metric comparisons (original, reproduced, delta, tolerance, ok)."""
    created_at: Mapped[float] = mapped_column(Float)


class AnnotationRow(Base):
    """Who tagged, untagged, noted, archived or restored a run, and when.

    Written by the server's triggers on a team ledger (`ledger.store.policies`), so the
    author is the server's `current_user` and the time its clock; a SQLite ledger keeps none.
    """

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(_run_fk(), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """`tag`, `untag`, `note`, `archive` or `unarchive`."""
    value: Mapped[str | None] = mapped_column(Text)
    """The tag, or the note as it became."""
    author: Mapped[str] = mapped_column(String(limits.ROLE))
    created_at: Mapped[float] = mapped_column(Float)
