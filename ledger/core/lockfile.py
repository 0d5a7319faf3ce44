"""The environment lockfile a run records, and how two of them differ.

Plain values read by every layer (the store keeps them, `ledger diff` and `ledger
reproduce` compare them); capturing one is `ledger.capture.environment`'s job.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, fields
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from ledger.core.errors import StoreError

Source = Literal["index", "vcs", "url", "local", "unknown"]


@dataclass(frozen=True, slots=True)
class Package:
    """One installed distribution and where it came from (PEP 610)."""

    name: str
    """PEP 503 normalised, so `PyYAML` and `pyyaml` compare equal across captures."""
    version: str
    source: Source
    url: str | None = None
    """For `vcs`, the pip-style URL (`git+https://...`); credentials are masked."""
    commit: str | None = None
    editable: bool = False

    @property
    def requirement(self) -> str:
        """This package as one line of a pip requirements file."""
        if self.source == "vcs" and self.url is not None:
            pin = f"@{self.commit}" if self.commit else ""
            return f"{self.name} @ {self.url}{pin}"
        if self.source == "local" and self.editable and self.url is not None:
            return f"-e {unquote(urlsplit(self.url).path)}"
        if self.source in ("local", "url") and self.url is not None:
            return f"{self.name} @ {self.url}"
        if self.source == "index":
            return f"{self.name}=={self.version}"
        return f"# {self.name}=={self.version}: source unknown, install it by hand"


@dataclass(frozen=True, slots=True)
class Environment:
    """The interpreter, platform and installed distributions a run saw."""

    python_version: str
    implementation: str
    platform: str
    packages: tuple[Package, ...]
    torch: str | None = None
    cuda: str | None = None
    """CUDA version torch was built with; None for CPU builds or without torch."""

    def __post_init__(self) -> None:
        # Sorting here, not at capture, makes the digest independent of how the
        # value was built, so equal environments are stored once.
        ordered = tuple(sorted(self.packages, key=lambda p: p.name))
        object.__setattr__(self, "packages", ordered)

    @property
    def digest(self) -> str:
        """Sha256 of the canonical JSON: the environment's content address."""
        return _digest(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no whitespace), stable across Pythons."""
        return _canonical_json(self)

    @classmethod
    def from_json(cls, text: str) -> Environment:
        """Rebuild an environment stored by `to_json`.

        Raises:
            StoreError: the text is not an environment this version wrote.
        """
        try:
            data: dict[str, Any] = json.loads(text)
            packages = tuple(Package(**item) for item in data.pop("packages"))
            return cls(packages=packages, **data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            message = f"stored environment is unreadable: {exc}"
            raise StoreError(message, hint="run `ledger doctor`") from exc

    def to_requirements(self) -> str:
        """A pip requirements lockfile that rebuilds this environment's packages."""
        header = (
            f"# exp-ledger environment {self.digest[:12]}: "
            f"{self.implementation} {self.python_version} on {self.platform}"
        )
        return "\n".join([header, *(p.requirement for p in self.packages)]) + "\n"


@dataclass(frozen=True, slots=True)
class PackageChange:
    """A distribution present on both sides whose version or origin differs."""

    name: str
    old: Package
    new: Package

    @property
    def summary(self) -> str:
        """One line such as `numpy 1.26.4 -> 2.0.0` or a commit change."""
        old, new = _describe(self.old), _describe(self.new)
        return f"{self.name} {old} -> {new}"


@dataclass(frozen=True, slots=True)
class EnvDiff:
    """How a newer environment drifted from an older one."""

    added: tuple[Package, ...]
    removed: tuple[Package, ...]
    changed: tuple[PackageChange, ...]
    python: tuple[str, str] | None
    """(old, new) implementation and version, when they differ."""
    platform: tuple[str, str] | None
    cuda: tuple[str | None, str | None] | None

    @property
    def is_empty(self) -> bool:
        """True when a run would see exactly the same environment."""
        drift = (self.added, self.removed, self.changed)
        return not any((*drift, self.python, self.platform, self.cuda))


_PACKAGE_FIELDS = tuple(f.name for f in fields(Package))
_ENVIRONMENT_FIELDS = tuple(f.name for f in fields(Environment))


@functools.lru_cache(maxsize=4)
def _canonical_json(env: Environment) -> str:
    # By hand rather than `dataclasses.asdict`, which deep-copies every value and costs
    # milliseconds on a few hundred packages; the text is the same, so digests are too.
    data: dict[str, Any] = {name: getattr(env, name) for name in _ENVIRONMENT_FIELDS}
    data["packages"] = [{name: getattr(p, name) for name in _PACKAGE_FIELDS} for p in env.packages]
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


@functools.lru_cache(maxsize=4)
def _digest(env: Environment) -> str:
    return hashlib.sha256(_canonical_json(env).encode()).hexdigest()


def diff_environments(old: Environment, new: Environment) -> EnvDiff:
    """Compare two environments, package by package."""
    before = {p.name: p for p in old.packages}
    after = {p.name: p for p in new.packages}
    old_python = f"{old.implementation} {old.python_version}"
    new_python = f"{new.implementation} {new.python_version}"
    return EnvDiff(
        added=tuple(p for name, p in after.items() if name not in before),
        removed=tuple(p for name, p in before.items() if name not in after),
        changed=tuple(
            PackageChange(name, before[name], p)
            for name, p in after.items()
            if name in before and before[name] != p
        ),
        python=None if old_python == new_python else (old_python, new_python),
        platform=None if old.platform == new.platform else (old.platform, new.platform),
        cuda=None if old.cuda == new.cuda else (old.cuda, new.cuda),
    )


def _describe(package: Package) -> str:
    if package.source == "index":
        return package.version
    kind = "editable" if package.editable else package.source
    at = f"@{package.commit[:12]}" if package.commit else ""
    return f"{package.version} ({' '.join(filter(None, (kind, package.url)))}{at})"
