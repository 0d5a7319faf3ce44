"""The one error family users can fix, each with a message and what to do next."""

from __future__ import annotations


class LedgerError(Exception):
    """A failure the user can act on: printed as one line (plus a hint), exit 1."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class NotAGitRepoError(LedgerError):
    """Raised where a command needs a git repository and there is none."""


class GitError(LedgerError):
    """A git command failed in a way the user should see."""


class StoreError(LedgerError):
    """The ledger database cannot be opened, read or written."""


class StoreUnreachableError(StoreError):
    """A ledger server cannot be reached or refused us (down, unreachable, bad login).

    A run meeting it keeps going and queues its record locally (`ledger.delivery.outbox`).
    """


class StoreDeniedError(StoreError):
    """The ledger server refused a write to this role: it lacks the right, or the record has ended.

    Raised for SQLSTATE 42501 (insufficient privilege), which the server's privileges,
    row-level security and the ledger's triggers all answer with.
    """


class StoreCorruptError(StoreError):
    """The ledger's SQLite file is damaged: `ledger doctor --fix` moves it aside and rebuilds."""


class StoreOutdatedError(StoreError):
    """The ledger's schema is older or newer than this version of exp-ledger."""


class RunNotFoundError(LedgerError):
    """No run matches the ID (or prefix) the user gave."""


class AmbiguousRunIdError(LedgerError):
    """An ID prefix matches more than one run."""


class FilterSyntaxError(LedgerError):
    """A filter expression could not be parsed."""


class ConfigError(LedgerError):
    """`[tool.ledger]` or a `LEDGER_*` variable holds a value we cannot use."""


class CaptureError(LedgerError):
    """Something a run record needs could not be read (params file, metrics file...)."""


class InstallError(LedgerError):
    """`ledger init` cannot set something up (config unreadable, pre-commit missing...)."""


class ReproduceError(LedgerError):
    """A step of `ledger reproduce` cannot be done (missing data, a failed build...)."""


class DvcLockError(CaptureError):
    """A `dvc.lock` or `*.dvc` file is malformed."""
