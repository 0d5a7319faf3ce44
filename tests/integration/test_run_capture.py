"""`ledger run` end to end: real git repos, real child processes, the real SQLite file."""

from __future__ import annotations

import math
import sqlite3
import sys
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

PY = sys.executable


def _only_run(repo: TmpRepo) -> dict[str, Any]:
    runs = runs_json(cwd=repo.root)
    assert len(runs) == 1
    return show_json(runs[0]["id"], cwd=repo.root)


def test_dirty_tree_is_diffable_against_head(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "print('v1')\n"})
    tmp_repo.commit("v1")
    tmp_repo.gen({"train.py": "print('v2')\n", "notes.txt": "new file\n"})
    status_before = tmp_repo.git("status", "--porcelain")

    ledger_process("run", "--", PY, "train.py")

    run = _only_run(tmp_repo)["run"]
    run_id = run["summary"]["id"]
    diff = tmp_repo.git("diff", "HEAD", f"refs/ledger/runs/{run_id}")
    assert "+print('v2')" in diff
    assert "+new file" in diff
    assert run["summary"]["dirty"] is True
    assert tmp_repo.git("status", "--porcelain") == status_before
    assert tmp_repo.git("diff", "--cached") == ""


def test_clean_tree_snapshot_is_head(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "pass\n"})
    head = tmp_repo.commit()

    ledger_process("run", "--", PY, "train.py")

    run = _only_run(tmp_repo)["run"]
    assert run["snapshot"] == head
    assert run["summary"]["dirty"] is False


def test_repo_without_commits(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "print('hi')\n"})

    ledger_process("run", "--", PY, "train.py")

    run = _only_run(tmp_repo)["run"]
    assert run["summary"]["commit"] is None
    files = tmp_repo.git("ls-tree", "-r", "--name-only", f"refs/ledger/runs/{run['summary']['id']}")
    assert files.splitlines() == ["train.py"]


def test_detached_head(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "pass\n"})
    head = tmp_repo.commit()
    tmp_repo.git("checkout", "-q", "--detach", head)

    ledger_process("run", "--", PY, "train.py")

    summary = _only_run(tmp_repo)["run"]["summary"]
    assert summary["branch"] is None
    assert summary["commit"] == head


def test_untracked_files_captured_and_ignored_files_not(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({".gitignore": "cache/\n", "train.py": "pass\n"})
    tmp_repo.commit()
    tmp_repo.gen({"helper.py": "X = 1\n", "cache/big.bin": "ignored\n"})

    ledger_process("run", "--", PY, "train.py")

    run_id = runs_json()[0]["id"]
    files = tmp_repo.git("ls-tree", "-r", "--name-only", f"refs/ledger/runs/{run_id}").splitlines()
    assert "helper.py" in files
    assert "cache/big.bin" not in files


def test_secret_file_is_skipped_and_reported(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "pass\n"})
    tmp_repo.commit()
    tmp_repo.gen({".env": "API_TOKEN=hunter2\n", "key.pem": "-----BEGIN-----\n"})

    proc = ledger_process("run", "--", PY, "train.py")

    run = _only_run(tmp_repo)["run"]
    skipped = dict(run["snapshot_skipped"])
    assert set(skipped) == {".env", "key.pem"}
    assert "deny pattern" in skipped[".env"]
    files = tmp_repo.git("ls-tree", "-r", "--name-only", f"refs/ledger/runs/{run['summary']['id']}")
    assert ".env" not in files.splitlines()
    assert "hunter2" not in proc.stderr


def test_oversized_file_is_skipped(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "pass\n", "pyproject.toml": "[tool.ledger]\nsnapshot_max_file_bytes = 100\n"})
    tmp_repo.commit()
    tmp_repo.gen({"weights.bin": b"x" * 1000})

    ledger_process("run", "--", PY, "train.py")

    skipped = dict(_only_run(tmp_repo)["run"]["snapshot_skipped"])
    assert "larger than 100 bytes" in skipped["weights.bin"]


def test_params_from_file_and_argv(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"params.yaml": "train:\n  lr: 0.01\n  epochs: 3\nmodel: resnet\n", "train.py": "pass\n"})
    tmp_repo.commit()

    ledger_process("run", "--", PY, "train.py", "--batch-size", "32", "--amp", "seed=7")

    params = _only_run(tmp_repo)["run"]["summary"]["params"]
    assert params == {
        "train.lr": 0.01,
        "train.epochs": 3,
        "model": "resnet",
        "batch_size": 32,
        "amp": True,
        "seed": 7,
    }


def test_malformed_params_file_is_reported_and_run_kept(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"params.yaml": "lr: [0.1\n", "train.py": "pass\n"})

    proc = ledger_process("run", "--", PY, "train.py")

    run = _only_run(tmp_repo)["run"]
    assert run["summary"]["status"] == "finished"
    assert any(e.startswith("params.yaml: not valid yaml") for e in run["capture_errors"])
    assert "params.yaml: not valid yaml" in proc.stderr


def test_malformed_metrics_json_is_reported_and_run_kept(tmp_repo: TmpRepo) -> None:
    script = "open('metrics.json', 'w').write('{\"acc\": 0.9,')\n"
    tmp_repo.gen({"train.py": script})

    ledger_process("run", "--", PY, "train.py")

    run = _only_run(tmp_repo)["run"]
    assert run["summary"]["status"] == "finished"
    assert any(e.startswith("metrics.json: not valid json") for e in run["capture_errors"])


def test_non_numeric_metric_is_reported(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen(
        {"train.py": "import json; json.dump({'acc': 0.5, 'model': 'resnet'}, open('metrics.json', 'w'))\n"}
    )

    ledger_process("run", "--", PY, "train.py")

    run = _only_run(tmp_repo)["run"]
    assert run["summary"]["metrics"] == {"acc": 0.5}
    assert any("'model' is not a number" in e for e in run["capture_errors"])


def test_nan_and_inf_metrics_are_kept(tmp_repo: TmpRepo) -> None:
    script = (
        "import json, ledger\n"
        "ledger.log_metrics({'loss': float('nan'), 'grad': float('inf'), 'low': float('-inf')}, step=0)\n"
        "json.dump({'file_nan': float('nan'), 'file_inf': float('inf')}, open('metrics.json', 'w'))\n"
    )
    tmp_repo.gen({"train.py": script})

    ledger_process("run", "--", PY, "train.py")

    metrics = _only_run(tmp_repo)["run"]["summary"]["metrics"]
    assert metrics == {"loss": "nan", "grad": "inf", "low": "-inf", "file_nan": "nan", "file_inf": "inf"}


def test_api_series_inside_ledger_run(tmp_repo: TmpRepo) -> None:
    script = (
        "import ledger\n"
        "ledger.log_params({'opt': {'name': 'adam', 'beta': 0.9}})\n"
        "for i in range(100):\n"
        "    ledger.log_metrics({'loss': 1.0 / (i + 1), 'acc': i / 100})\n"
    )
    tmp_repo.gen({"train.py": script})

    ledger_process("run", "--", PY, "train.py")

    shown = _only_run(tmp_repo)
    assert shown["run"]["summary"]["params"] == {"opt.name": "adam", "opt.beta": 0.9}
    assert shown["run"]["summary"]["metrics"] == {"loss": 0.01, "acc": 0.99}
    assert shown["series"]["loss"]["steps"] == list(range(100))
    assert shown["series"]["loss"]["values"][3] == 0.25


def test_api_start_run_without_wrapper(tmp_repo: TmpRepo) -> None:
    script = (
        "import ledger\n"
        "with ledger.start_run(name='api-run', tags=['x'], params={'lr': 0.1}) as run:\n"
        "    for step in range(0, 50, 10):\n"
        "        ledger.log_metrics({'acc': step / 100}, step=step)\n"
        "    assert ledger.current_run() is run\n"
    )
    tmp_repo.gen({"train.py": script})
    tmp_repo.commit()

    import subprocess

    subprocess.run([PY, "train.py"], check=True, cwd=tmp_repo.root)

    shown = _only_run(tmp_repo)
    summary = shown["run"]["summary"]
    assert (summary["name"], summary["status"], summary["source"], summary["tags"]) == (
        "api-run",
        "finished",
        "api",
        ["x"],
    )
    assert summary["params"] == {"lr": 0.1}
    assert shown["series"]["acc"]["steps"] == [0, 10, 20, 30, 40]


def test_failed_command_records_exit_code(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "import sys; print('boom'); sys.exit(3)\n"})

    proc = ledger_process("run", "--", PY, "train.py", check=False)

    assert proc.returncode == 3
    summary = _only_run(tmp_repo)["run"]["summary"]
    assert (summary["status"], summary["exit_code"]) == ("failed", 3)


def test_missing_command_is_a_failed_run(tmp_repo: TmpRepo) -> None:
    proc = ledger_process("run", "--", "no-such-program-xyz", check=False)

    assert proc.returncode == 127
    assert "cannot start 'no-such-program-xyz'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _only_run(tmp_repo)["run"]["summary"]["status"] == "failed"


def test_log_is_captured_streamed_and_redacted(tmp_repo: TmpRepo) -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    tmp_repo.gen({"train.py": f"import sys\nprint('epoch 1')\nprint('token {token}', file=sys.stderr)\n"})

    proc = ledger_process("run", "--", PY, "train.py", f"--api-token={token}")

    assert "epoch 1" in proc.stdout
    run_id = runs_json()[0]["id"]
    log = ledger("log", run_id).stdout
    assert "epoch 1" in log
    assert token not in log
    argv = show_json(run_id)["run"]["argv"]
    assert token not in " ".join(argv)


def test_unknown_and_ambiguous_ids(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "pass\n"})
    ledger_process("run", "--", PY, "train.py")
    ledger_process("run", "--", PY, "train.py")

    unknown = ledger("show", "ffffff", check=False)
    ambiguous = ledger("show", "0", check=False)

    assert unknown.returncode == 1
    assert unknown.stderr.splitlines()[0] == "ledger: error: no run matches 'ffffff'"
    assert ambiguous.returncode == 1
    assert "matches several runs" in ambiguous.stderr
    assert "Traceback" not in unknown.stderr + ambiguous.stderr


def test_unique_prefix_is_accepted(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "pass\n"})
    ledger_process("run", "--name", "only", "--", PY, "train.py")
    short = runs_json()[0]["short_id"]

    assert show_json(short)["run"]["summary"]["name"] == "only"
    assert show_json(short.upper())["run"]["summary"]["name"] == "only"


def test_outside_a_git_repo(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    for args in (("run", "--", PY, "-c", "pass"), ("list",)):
        proc = (ledger_process if args[0] == "run" else ledger)(*args, cwd=tmp_path, check=False)
        assert proc.returncode == 1
        assert proc.stderr.startswith("ledger: error: not")
        assert "Traceback" not in proc.stderr


def test_ledger_lives_in_git_common_dir_shared_by_worktrees(tmp_repo: TmpRepo, tmp_path) -> None:
    tmp_repo.gen({"train.py": "pass\n"})
    tmp_repo.commit()
    other = tmp_path / "wt"
    tmp_repo.git("worktree", "add", "-q", str(other))

    ledger_process("run", "--", PY, "train.py", cwd=other)

    where = ledger("where").stdout.strip()
    assert where == str(tmp_repo.root / ".git" / "ledger" / "ledger.db")
    assert ledger("where", cwd=other).stdout.strip() == where
    assert len(runs_json(cwd=tmp_repo.root)) == 1
    with sqlite3.connect(where) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_tags_and_notes(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "pass\n"})
    ledger_process("run", "--tag", "first", "--", PY, "train.py")
    run_id = runs_json()[0]["id"]

    ledger("tag", run_id[:10], "baseline", "keep")
    ledger("tag", run_id[:10], "--remove", "keep")
    ledger("note", run_id[:10], "-m", "looks good")
    ledger("note", run_id[:10], "--append", "-m", "really")

    summary = show_json(run_id)["run"]
    assert summary["summary"]["tags"] == ["baseline", "first"]
    assert summary["note"] == "looks good\nreally"
    assert [r["id"] for r in runs_json("tag:baseline")] == [run_id]


def test_archived_runs_leave_the_listing_until_asked_for(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({"train.py": "pass\n"})
    for name in ("kept", "old"):
        ledger_process("run", "--name", name, "--", PY, "train.py")
    old = runs_json("name:old")[0]["id"]

    archived = ledger("archive", old[:10])

    assert archived.stdout.startswith("archived 1 of 1 run(s)")
    assert [r["name"] for r in runs_json()] == ["kept"]
    assert sorted(r["name"] for r in runs_json("--archived")) == ["kept", "old"]
    assert show_json(old[:10])["run"]["summary"]["id"] == old  # kept whole, still readable by ID
    ledger("archive", "--undo", old[:10])
    assert sorted(r["name"] for r in runs_json()) == ["kept", "old"]


def test_list_filter_and_sort(tmp_repo: TmpRepo) -> None:
    script = "import sys, ledger\nledger.log_metrics({'acc': float(sys.argv[2])})\n"
    tmp_repo.gen({"train.py": script})
    for lr, acc in (("0.1", "0.5"), ("0.01", "0.95"), ("0.001", "0.92")):
        ledger_process("run", "--", PY, "train.py", lr, acc, f"--lr={lr}")

    top = runs_json("metrics.acc > 0.9 and params.lr <= 0.01", "--sort=-metrics.acc")

    assert [r["metrics"]["acc"] for r in top] == [0.95, 0.92]
    table = ledger("list", "--sort", "metrics.acc").stdout.splitlines()
    assert "metrics.acc" in table[0]
    assert [line.split()[-1] for line in table[1:]] == ["0.5", "0.92", "0.95"]


def test_bad_filter_is_one_clear_line(tmp_repo: TmpRepo) -> None:
    proc = ledger("list", "metrics.acc >", check=False)

    assert proc.returncode == 1
    assert proc.stderr.startswith("ledger: error: ")
    assert "Traceback" not in proc.stderr


def test_dvc_data_hashes_are_recorded(dvc_repo: TmpRepo) -> None:
    dvc_repo.gen({"data/train.csv": "x,y\n1,2\n", "train.py": "pass\n"})
    dvc_repo.dvc_add("data")
    dvc_repo.commit("data")
    md5 = (dvc_repo.root / "data.dvc").read_text().split("md5: ")[1].split()[0]

    ledger_process("run", "--", PY, "train.py")

    data = _only_run(dvc_repo)["run"]["data"]
    assert [(d["path"], d["value"], d["workspace_match"]) for d in data] == [("data", md5, True)]
    assert math.isclose(data[0]["nfiles"], 1)


def test_a_file_restored_to_its_content_during_a_run_is_not_an_output(tmp_repo) -> None:
    # pre-commit stashes and restores unstaged files when a commit is made while a run goes on.
    tmp_repo.gen({"params.yaml": "lr: 0.1\n", "notes.md": "a\n"})
    tmp_repo.commit("code")
    tmp_repo.gen({"params.yaml": "lr: 0.2\n"})  # unstaged, as an edit in progress
    script = (
        "import os, time\n"
        "text = open('params.yaml').read()\n"
        "open('params.yaml', 'w').write('lr: 0.1\\n'); time.sleep(0.05)\n"
        "open('params.yaml', 'w').write(text)\n"
        "open('notes.md', 'w').write('b\\n')\n"
        "open('model.bin', 'wb').write(b'weights')\n"
    )
    tmp_repo.gen({"touch.py": script})

    ledger_process("run", "--", sys.executable, "touch.py")

    outputs = {o["path"] for o in show_json("latest")["run"]["outputs"]}
    assert "params.yaml" not in outputs
    assert {"notes.md", "model.bin"} <= outputs
