"""A durable inbox of git events, written by hooks with the standard library only.

A hook must not import SQLAlchemy or GitPython (hundreds of milliseconds on every
commit), yet what it saw must never be lost. So it writes one small JSON file per
event, fsync'ed and renamed into place, and leaves the database work to
`ledger.commits.ingest` (started detached by the hook, and run by every `ledger` command).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import TYPE_CHECKING, Any

from ledger.core.fileops import write_durably

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator
    from pathlib import Path

INBOX = "inbox"
FAILURES = "hook-failures.jsonl"
RECENT_RUNS = "recent-runs.json"
EVENT_SUFFIXES = (".json", ".commit")
"""JSON events from Python, and commit events as `git log` prints them (hooks/hook.sh)."""
COMMIT_LOG = ("log", "-1", "-z", "--no-renames", "--diff-filter=d", "--name-only", "--format=%H%n%D")
"""The `git` arguments (plus the commit) whose output is a commit event; hooks/hook.sh runs them too."""
RECENT_KEEP = 50
"""Finished runs remembered for the hooks (the newest; older ones are in the ledger)."""


def ledger_dir(common_dir: Path) -> Path:
    """The ledger's folder in the git common dir (shared by every worktree)."""
    return common_dir / "ledger"


def post(common_dir: Path, event: dict[str, Any]) -> Path:
    """Write one event durably: it survives a crash of the machine right after the commit."""
    kind = str(event.get("kind", "event"))
    return _write(common_dir, f"{kind}.json", json.dumps(event, sort_keys=True).encode())


def post_commit(common_dir: Path, record: bytes) -> Path:
    """Write a commit event as `COMMIT_LOG` printed it (the shell hook writes the same bytes)."""
    return _write(common_dir, "commit.commit", record)


def parse_commit(record: bytes) -> dict[str, Any]:
    """A `COMMIT_LOG` record as an event: the commit, its branch and the paths it changed."""
    header, _, names = record.decode("utf-8", "surrogateescape").partition("\0")
    sha, _, decoration = header.partition("\n")
    branch = None
    for ref in decoration.split(", "):
        if ref.startswith("HEAD -> "):
            branch = ref.removeprefix("HEAD -> ")
    if not sha:
        raise ValueError("empty commit record")
    files = [f.strip("\n") for f in names.split("\0") if f.strip("\n")]
    return {"kind": "commit", "sha": sha, "branch": branch, "files": files}


def is_event(name: str) -> bool:
    """An event file's name (not a `.name.tmp` being written)."""
    return name.endswith(EVENT_SUFFIXES) and not name.startswith(".")


def events_in(folder: Path) -> list[Path]:
    """The event files in an inbox folder (or its `failed` folder), oldest first."""
    with contextlib.suppress(OSError):
        return sorted(p for p in folder.iterdir() if is_event(p.name))
    return []


def pending(common_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Events not yet ingested, oldest first; unreadable files are reported as such."""
    folder = ledger_dir(common_dir) / INBOX
    if not folder.is_dir():
        return []
    events = []
    for path in events_in(folder):
        try:
            data = path.read_bytes()
            events.append((path, parse_commit(data) if path.suffix == ".commit" else json.loads(data)))
        except (OSError, ValueError):
            events.append((path, {"kind": "unreadable"}))
    return events


def posted_at(path: Path) -> float | None:
    """When a hook posted the event (its name starts with the time in nanoseconds)."""
    stamp = path.name.split("-", 1)[0]
    return int(stamp) / 1e9 if stamp.isdigit() else None


def has_events(common_dir: Path) -> bool:
    """Whether events wait in the inbox (one directory listing)."""
    with contextlib.suppress(OSError), os.scandir(ledger_dir(common_dir) / INBOX) as entries:
        return any(is_event(e.name) for e in entries)
    return False


def record_failure(common_dir: Path | None, hook: str, message: str) -> None:
    """Remember a hook failure for `ledger doctor`; never raises (the disk may be read-only)."""
    if common_dir is None:
        return
    line = json.dumps({"time": time.time(), "hook": hook, "message": message}) + "\n"
    with contextlib.suppress(OSError):
        folder = ledger_dir(common_dir)
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / FAILURES).open("a") as f:
            f.write(line)


def failures(common_dir: Path) -> list[dict[str, Any]]:
    """Recorded hook failures, oldest first."""
    path = ledger_dir(common_dir) / FAILURES
    found = []
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                found.append(json.loads(line))
    return found


def clear_failures(common_dir: Path) -> None:
    """Forget recorded failures (after `ledger doctor --fix` recovered from them)."""
    with contextlib.suppress(OSError):
        (ledger_dir(common_dir) / FAILURES).unlink()


def remember_run(common_dir: Path, entry: dict[str, Any]) -> None:
    """Add a finished run to the small index the hooks read instead of the database."""
    folder = ledger_dir(common_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RECENT_RUNS
    with _locked(folder / f"{RECENT_RUNS}.lock"):
        runs = [r for r in recent_runs(common_dir) if r.get("id") != entry.get("id")]
        runs.append(entry)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(runs[-RECENT_KEEP:]))
        tmp.replace(path)


def forget_runs(common_dir: Path, ids: Collection[str]) -> None:
    """Drop runs that a commit has linked: no later commit can link them again, and with no
    run left to name, prepare-commit-msg (hooks/hook.sh) need not start Python."""
    folder = ledger_dir(common_dir)
    path = folder / RECENT_RUNS
    if not ids or not path.exists():
        return
    with _locked(folder / f"{RECENT_RUNS}.lock"):
        runs = recent_runs(common_dir)
        kept = [r for r in runs if r.get("id") not in ids]
        if len(kept) != len(runs):
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(kept))
            tmp.replace(path)


def recent_runs(common_dir: Path) -> list[dict[str, Any]]:
    """The runs `remember_run` kept, oldest first."""
    try:
        runs = json.loads((ledger_dir(common_dir) / RECENT_RUNS).read_bytes())
    except (OSError, ValueError):
        return []
    return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _write(common_dir: Path, suffix: str, data: bytes) -> Path:
    folder = ledger_dir(common_dir) / INBOX
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{time.time_ns():020d}-{os.getpid()}-{suffix}"
    write_durably(final, data)
    return final
