"""Capture on commit: real commits through the hooks that pre-commit installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.helpers import ledger, ledger_process, log_python_calls, runs_json, show_json
from tests.projects import building

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PY = sys.executable
TRAIN = "import json, sys\njson.dump({'acc': float(sys.argv[1])}, open('metrics.json', 'w'))\n"


@pytest.fixture(scope="session")
def _hooked_template(tmp_path_factory: pytest.TempPathFactory) -> TmpRepo:
    """`ledger init` and its commits are the same for every test: done once, copied for each."""
    with building(tmp_path_factory, "hooked-template") as repo:
        repo.gen({"train.py": TRAIN, "params.yaml": "lr: 0.1\n"})
        repo.commit("code")
        ledger("init", env={"PRE_COMMIT_HOME": str(repo.root.parent / "pre-commit-home")})
        # Committed past the hooks: their detached ingester would otherwise still be running
        # when a test starts, racing it for the inbox.
        _commit(repo, "hooks config", hooks=False)
    return repo


@pytest.fixture
def hooked(
    _hooked_template: TmpRepo,
    own_copy: Callable[[TmpRepo], TmpRepo],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> TmpRepo:
    """A repo with code committed and `ledger init` done (hooks installed by pre-commit)."""
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    return own_copy(_hooked_template)


def _commit(repo: TmpRepo, message: str, *extra: str, hooks: bool = True) -> subprocess.CompletedProcess[str]:
    """Commit everything; `hooks=False` as a script rewriting history would (LEDGER_HOOKS=0)."""
    repo.git("add", "-A")
    return subprocess.run(
        ["git", "commit", "-m", message, *extra],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LEDGER_HOOKS": "1" if hooks else "0"},
    )


def test_commit_after_ledger_run_links_the_run(hooked: TmpRepo) -> None:
    ledger_process("run", "--", PY, "train.py", "0.9")
    run_id = runs_json()[0]["id"]

    _commit(hooked, "results")

    sha = hooked.git("rev-parse", "HEAD")
    assert f"Ledger-Run: {run_id[:16]}" in hooked.git("log", "-1", "--format=%B")
    assert show_json(run_id)["run"]["linked_commits"] == [sha]
    assert len(runs_json()) == 1  # linked, so the commit itself is not captured again


def test_commit_of_results_without_a_run_is_captured(hooked: TmpRepo) -> None:
    hooked.gen({"params.yaml": "lr: 0.5\n", "metrics.json": '{"acc": 0.75}'})

    _commit(hooked, "manual results")

    runs = runs_json()
    assert len(runs) == 1
    assert (runs[0]["source"], runs[0]["commit"]) == ("commit", hooked.git("rev-parse", "HEAD"))
    assert runs[0]["params"] == {"lr": 0.5}
    assert runs[0]["metrics"] == {"acc": 0.75}


def test_commit_without_results_records_nothing(hooked: TmpRepo) -> None:
    hooked.gen({"README.md": "docs\n"})

    _commit(hooked, "docs")

    assert runs_json() == []


def test_dvc_repro_commit_is_captured_with_its_data(dvc_repo: TmpRepo, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    dvc_repo.gen({
        "prepare.py": "open('data.csv', 'w').write('x\\n1\\n')\n",
        "train.py": "import json\njson.dump({'acc': 0.5}, open('metrics.json', 'w'))\n",
        "params.yaml": "lr: 0.01\n",
        "dvc.yaml": (
            "stages:\n  prepare:\n    cmd: python prepare.py\n    deps: [prepare.py]\n    outs: [data.csv]\n"
            "  train:\n    cmd: python train.py\n    deps: [train.py, data.csv]\n    params: [lr]\n"
            "    metrics:\n    - metrics.json:\n        cache: false\n"
        ),
    })  # fmt: skip
    dvc_repo.commit("pipeline")
    ledger("init")
    dvc_repo.commit("hooks")

    dvc_repo.dvc("repro", "-q")
    _commit(dvc_repo, "repro")

    run = show_json("latest")["run"]
    assert run["summary"]["source"] == "commit"
    assert run["summary"]["metrics"] == {"acc": 0.5}
    assert "data.csv" in {d["path"] for d in run["data"]}


def test_amend_moves_the_link(hooked: TmpRepo) -> None:
    ledger_process("run", "--", PY, "train.py", "0.9")
    run_id = runs_json()[0]["id"]
    _commit(hooked, "results")
    old = hooked.git("rev-parse", "HEAD")

    _commit(hooked, "results, reworded", "--amend")

    new = hooked.git("rev-parse", "HEAD")
    assert new != old
    assert show_json(run_id)["run"]["linked_commits"] == [new]


def test_amend_of_a_captured_commit_keeps_one_capture(hooked: TmpRepo) -> None:
    hooked.gen({"metrics.json": '{"acc": 0.1}'})
    _commit(hooked, "results")
    hooked.gen({"metrics.json": '{"acc": 0.2}'})

    _commit(hooked, "results fixed", "--amend")

    runs = runs_json()
    assert [(r["commit"], r["metrics"]) for r in runs] == [(hooked.git("rev-parse", "HEAD"), {"acc": 0.2})]


def test_rebase_moves_links_and_captures(hooked: TmpRepo) -> None:
    hooked.git("checkout", "-q", "-b", "exp")
    ledger_process("run", "--", PY, "train.py", "0.3")
    run_id = runs_json()[0]["id"]
    _commit(hooked, "linked results")
    hooked.gen({"metrics.json": '{"acc": 0.4}'})
    _commit(hooked, "captured results")
    hooked.git("checkout", "-q", "main")
    hooked.gen({"README.md": "main moved on\n"})
    _commit(hooked, "main work")
    hooked.git("checkout", "-q", "exp")

    subprocess.run(["git", "rebase", "-q", "main"], cwd=hooked.root, check=True, capture_output=True)

    on_branch = set(hooked.git("rev-list", "main..exp").split())
    assert set(show_json(run_id)["run"]["linked_commits"]) <= on_branch
    assert len(show_json(run_id)["run"]["linked_commits"]) == 1
    captured = [r for r in runs_json() if r["source"] == "commit"]
    assert [r["commit"] in on_branch for r in captured] == [True]


def test_merge_commit_gets_no_trailer_and_no_duplicate(hooked: TmpRepo) -> None:
    hooked.git("checkout", "-q", "-b", "exp")
    hooked.gen({"metrics.json": '{"acc": 0.6}'})
    _commit(hooked, "results on a branch")
    hooked.git("checkout", "-q", "main")
    hooked.gen({"README.md": "x\n"})
    _commit(hooked, "main work")

    subprocess.run(
        ["git", "merge", "-q", "--no-edit", "exp"], cwd=hooked.root, check=True, capture_output=True
    )

    assert "Ledger-Run" not in hooked.git("log", "-1", "--format=%B")
    assert len(runs_json()) == 1


def test_unwritable_ledger_folder_never_breaks_a_commit(hooked: TmpRepo) -> None:
    """The hook cannot even write its inbox (as if the disk were read-only): the commit
    still succeeds, the failure is recorded, and `ledger doctor --fix` recovers the commit."""
    inbox = hooked.root / ".git" / "ledger" / "inbox"
    shutil.rmtree(inbox, ignore_errors=True)
    inbox.write_text("not a folder")  # root ignores chmod, but not this
    hooked.gen({"metrics.json": '{"acc": 0.8}'})

    proc = _commit(hooked, "results while the ledger is broken")

    assert hooked.git("log", "-1", "--format=%s") == "results while the ledger is broken"
    assert "exp-ledger: post-commit hook failed" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    inbox.unlink()
    doctor = ledger("doctor", check=False)
    assert doctor.returncode == 1
    assert "post-commit" in doctor.stdout
    ledger("doctor", "--fix")
    recovered = runs_json("metrics.acc = 0.8")
    assert [r["commit"] for r in recovered] == [hooked.git("rev-parse", "HEAD")]
    assert ledger("doctor").returncode == 0


def test_read_only_database_never_breaks_a_commit(hooked: TmpRepo) -> None:
    db = hooked.root / ".git" / "ledger" / "ledger.db"
    read_only = f"sqlite:///file:{db}?mode=ro&uri=true"
    hooked.gen({"metrics.json": '{"acc": 0.7}'})
    hooked.git("add", "-A")

    proc = subprocess.run(
        ["git", "commit", "-m", "results, ledger read-only"],
        cwd=hooked.root,
        capture_output=True,
        text=True,
        env={**os.environ, "LEDGER_URL": read_only},
    )

    assert proc.returncode == 0
    assert [r["metrics"] for r in runs_json()] == [{"acc": 0.7}]  # delivered by the next command


def test_corrupt_database_never_breaks_a_commit(hooked: TmpRepo) -> None:
    db = hooked.root / ".git" / "ledger" / "ledger.db"
    for extra in ("-wal", "-shm"):
        db.with_name(db.name + extra).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    hooked.gen({"metrics.json": '{"acc": 0.6}'})

    proc = _commit(hooked, "results, ledger corrupt")

    assert proc.returncode == 0
    listing = ledger("list", check=False)
    assert listing.returncode == 1
    assert listing.stderr.startswith(f"ledger: error: the ledger file {db} is damaged")
    assert "run `ledger doctor --fix`" in listing.stderr
    db.unlink()
    assert [r["metrics"] for r in runs_json()] == [{"acc": 0.6}]


def test_hooks_in_a_second_worktree_write_the_same_ledger(hooked: TmpRepo, tmp_path: Path) -> None:
    other = tmp_path / "wt"
    hooked.git("worktree", "add", "-q", "-b", "wt", str(other))
    (other / "metrics.json").write_text('{"acc": 0.33}')

    subprocess.run(["git", "add", "-A"], cwd=other, check=True)
    subprocess.run(
        ["git", "commit", "-q", "-m", "from the worktree"], cwd=other, check=True, capture_output=True
    )

    runs = runs_json(cwd=hooked.root)
    assert [(r["branch"], r["metrics"]) for r in runs] == [("wt", {"acc": 0.33})]


def test_results_from_other_code_warn(hooked: TmpRepo) -> None:
    ledger("init", "--stages", "pre-commit")
    ledger_process("run", "--", PY, "train.py", "0.9")
    hooked.gen({"train.py": TRAIN + "# changed after the run\n"})

    proc = _commit(hooked, "results and changed code")

    assert "train.py changed since run" in proc.stdout + proc.stderr


def test_results_from_other_code_block_when_configured(hooked: TmpRepo) -> None:
    hooked.gen({"pyproject.toml": "[tool.ledger]\ncheck_results = 'block'\n"})
    ledger("init", "--stages", "pre-commit")
    _commit(hooked, "config")
    ledger_process("run", "--", PY, "train.py", "0.9")
    hooked.gen({"train.py": TRAIN + "# changed\n"})
    hooked.git("add", "-A")

    proc = subprocess.run(["git", "commit", "-m", "blocked"], cwd=hooked.root, capture_output=True, text=True)

    assert proc.returncode != 0
    assert "train.py changed since run" in proc.stdout + proc.stderr


def _calls(log: Path) -> str:
    return log.read_text() if log.exists() else ""


def test_commits_start_python_only_after_a_recent_run(hooked: TmpRepo, tmp_path: Path) -> None:
    """The shell fast path: no run lately, so neither hook starts Python (only the detached
    ingester does); after a run, prepare-commit-msg asks Python which runs the commit holds,
    until a commit has linked it."""
    log = log_python_calls(hooked, tmp_path)
    hooked.gen({"README.md": "docs\n"})

    _commit(hooked, "docs")

    assert "ledger.hooks" not in _calls(log)
    ledger_process("run", "--", PY, "train.py", "0.9")
    run_id = runs_json()[0]["id"]

    _commit(hooked, "results")

    assert "-m ledger.hooks prepare-commit-msg" in _calls(log)
    assert f"Ledger-Run: {run_id[:16]}" in hooked.git("log", "-1", "--format=%B")
    assert show_json(run_id)["run"]["linked_commits"] == [hooked.git("rev-parse", "HEAD")]
    log.unlink()
    hooked.gen({"README.md": "more docs\n"})

    _commit(hooked, "docs after the results")  # the run is linked: nothing left to name

    assert "ledger.hooks" not in _calls(log)


@pytest.mark.parametrize("script", ["unset", "missing"])
def test_without_the_shell_fast_path_python_records_the_commit(hooked: TmpRepo, script: str) -> None:
    """A clone where `ledger init` has not run (or the package moved): the same hooks, in Python."""
    if script == "unset":
        hooked.git("config", "--unset", "ledger.hookscript")
    else:
        hooked.git("config", "ledger.hookscript", str(hooked.root / "gone" / "hook.sh"))
    ledger_process("run", "--", PY, "train.py", "0.4")
    run_id = runs_json()[0]["id"]

    proc = _commit(hooked, "results")

    assert "Failed" not in proc.stdout + proc.stderr
    assert f"Ledger-Run: {run_id[:16]}" in hooked.git("log", "-1", "--format=%B")
    assert show_json(run_id)["run"]["linked_commits"] == [hooked.git("rev-parse", "HEAD")]


def test_a_broken_interpreter_never_stops_a_commit(hooked: TmpRepo) -> None:
    """prepare-commit-msg needs Python after a run; if that Python is broken the commit
    still goes through (pre-commit shows nothing of a hook that passes, so the failure
    is for `ledger doctor`), and the commit is recorded all the same."""
    ledger_process("run", "--", PY, "train.py", "0.2")
    run_id = runs_json()[0]["id"]
    hooked.git("config", "ledger.python", shutil.which("false") or "/bin/false")

    proc = _commit(hooked, "results, broken interpreter")

    assert hooked.git("log", "-1", "--format=%s") == "results, broken interpreter"
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "prepare-commit-msg" in ledger("doctor", check=False).stdout
    assert show_json(run_id)["run"]["linked_commits"] == [hooked.git("rev-parse", "HEAD")]


def test_ledger_hooks_0_records_nothing(hooked: TmpRepo) -> None:
    hooked.gen({"metrics.json": '{"acc": 0.1}'})

    _commit(hooked, "scripted", hooks=False)

    assert not any((hooked.root / ".git" / "ledger" / "inbox").glob("*.commit"))
    assert runs_json() == []


def test_a_run_started_after_a_commit_is_not_linked_to_it_by_a_late_ingest(hooked: TmpRepo) -> None:
    """The ingester may get to a commit only after the next run started on the same code:
    that run's results are in no commit yet, so it waits for the next one."""
    from ledger.commits import inbox

    _commit(hooked, "docs", "--allow-empty", hooks=False)
    record = subprocess.run(
        ["git", *inbox.COMMIT_LOG, "HEAD"], cwd=hooked.root, capture_output=True, check=True
    ).stdout
    inbox.post_commit(hooked.root / ".git", record)  # posted now, ingested only later
    ledger_process("run", "--", PY, "train.py", "0.9")

    run = runs_json()[0]  # the listing ingests the waiting event
    assert show_json(run["id"])["run"]["linked_commits"] == []

    _commit(hooked, "results")

    assert show_json(run["id"])["run"]["linked_commits"] == [hooked.git("rev-parse", "HEAD")]


def test_a_run_of_thrown_away_code_is_not_linked_to_the_next_commit(hooked: TmpRepo) -> None:
    hooked.gen({"train.py": TRAIN + "# an experiment\n"})
    ledger_process("run", "--", PY, "train.py", "0.9")
    thrown_away = runs_json()[0]["id"]
    hooked.git("checkout", "--", "train.py")
    hooked.gen({"params.yaml": "lr: 0.2\n"})

    _commit(hooked, "params only")

    sha = hooked.git("rev-parse", "HEAD")
    assert "Ledger-Run" not in hooked.git("log", "-1", "--format=%B")
    assert show_json(thrown_away)["run"]["linked_commits"] == []
    captured = [r for r in runs_json() if r["source"] == "commit"]
    assert [(r["commit"], r["params"]) for r in captured] == [(sha, {"lr": 0.2})]


def test_of_two_runs_only_the_one_whose_code_is_committed_is_linked(hooked: TmpRepo) -> None:
    variant_a, variant_b = _run_two_variants(hooked)

    _commit(hooked, "variant b and its results")

    sha = hooked.git("rev-parse", "HEAD")
    message = hooked.git("log", "-1", "--format=%B")
    assert f"Ledger-Run: {variant_b[:16]}" in message
    assert variant_a[:16] not in message
    assert show_json(variant_b)["run"]["linked_commits"] == [sha]
    assert show_json(variant_a)["run"]["linked_commits"] == []


def test_the_check_the_trailer_and_the_link_agree_on_changed_code(hooked: TmpRepo) -> None:
    ledger("init", "--stages", "pre-commit")
    _commit(hooked, "stage", hooks=False)
    ledger_process("run", "--", PY, "train.py", "0.9")
    run_id = runs_json()[0]["id"]
    hooked.gen({"train.py": TRAIN + "# changed after the run\n"})

    proc = _commit(hooked, "results and changed code")

    assert f"train.py changed since run {run_id[:16]}" in proc.stdout + proc.stderr
    assert "Ledger-Run" not in hooked.git("log", "-1", "--format=%B")
    assert show_json(run_id)["run"]["linked_commits"] == []
    assert [r["source"] for r in runs_json() if r["id"] != run_id] == ["commit"]


def test_a_commit_of_the_results_dvc_yaml_declares_is_captured(hooked: TmpRepo) -> None:
    hooked.gen({"dvc.yaml": "metrics:\n- results/train/metrics.json\n"})
    _commit(hooked, "declare", hooks=False)
    hooked.gen({"results/train/metrics.json": '{"dice": 0.9}'})

    _commit(hooked, "results of a DVCLive run outside the ledger")

    runs = runs_json()
    assert [(r["source"], r["metrics"]) for r in runs] == [("commit", {"dice": 0.9})]


def test_doctor_links_a_run_to_a_commit_made_without_the_hooks(hooked: TmpRepo) -> None:
    other, committed = _run_two_variants(hooked)
    hooked.git("add", "-A")
    now = f"@{int(time.time()) + 1} +0000"  # the fixed test date would put it before the runs
    subprocess.run(
        ["git", "commit", "-q", "-m", "variant b, by a tool with the hooks off"],
        cwd=hooked.root,
        check=True,
        env={**os.environ, "LEDGER_HOOKS": "0", "GIT_COMMITTER_DATE": now, "GIT_AUTHOR_DATE": now},
    )
    sha = hooked.git("rev-parse", "HEAD")
    # A later commit holds the same code: the run still belongs to the first one only.
    subprocess.run(
        ["git", "commit", "-q", "--allow-empty", "-m", "later, same code"],
        cwd=hooked.root,
        check=True,
        env={**os.environ, "LEDGER_HOOKS": "0", "GIT_COMMITTER_DATE": now, "GIT_AUTHOR_DATE": now},
    )

    found = ledger("doctor", check=False)
    ledger("doctor", "--fix")

    assert found.returncode == 1
    assert f"run {committed[:12]} -> {sha[:10]}" in found.stdout
    assert found.stdout.count(committed[:12]) == 1
    assert other[:12] not in found.stdout
    assert show_json(committed)["run"]["linked_commits"] == [sha]
    assert show_json(other)["run"]["linked_commits"] == []
    assert ledger("doctor").returncode == 0


def _run_two_variants(repo: TmpRepo) -> tuple[str, str]:
    """Run two edits of train.py, leaving the second in the work tree; their run IDs."""
    ids = []
    for name, acc in (("a", "0.7"), ("b", "0.8")):
        repo.gen({"train.py": TRAIN + f"# variant {name}\n"})
        ledger_process("run", "--", PY, "train.py", acc)
        ids.append(next(r["id"] for r in runs_json() if r["id"] not in ids))
    return ids[0], ids[1]
