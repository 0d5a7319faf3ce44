"""Verdicts you can bet on: `ledger reproduce` on real runs in real repositories.

Each verdict rests on what was compared (metrics, files both runs wrote, the exit code);
nothing compared is "inconclusive", never "matched"; an unseeded run's drift is named;
git-ignored inputs are restored or named before anything runs; the interpreter is the
one the run used, whatever PATH says.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.core.verdict import EXIT_CODES
from tests.helpers import ledger, ledger_process, runs_json, show_json

if TYPE_CHECKING:
    from tests.repo import TmpRepo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SEEDED = """\
import json, random
random.seed(11)
noise = random.Random()  # an unseeded instance is not a seed
json.dump({"loss": random.random()}, open("metrics.json", "w"))
"""

UNSEEDED = """\
import json, random
json.dump({"loss": random.random()}, open("metrics.json", "w"))
"""

PRINTS_ONLY = """\
import random
print(f"loss {random.random():.6f}")
"""

WRITES_MODEL = """\
import pathlib
pathlib.Path("model.bin").write_bytes(bytes(range(256)) * 4)
"""

READS_IGNORED = """\
import json
value = float(open("data/processed/train.txt").read())
json.dump({"value": value}, open("metrics.json", "w"))
"""


def reproduce(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", "reproduce", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


def one_run(repo: TmpRepo, script: str, files: dict[str, str] | None = None, *args: str) -> str:
    repo.gen({"train.py": script, **(files or {})})
    repo.commit("train")
    ledger_process("run", "--", "python", "train.py", *args)
    return str(runs_json()[0]["id"])


def verdict_json(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_seeded_run_matches_bit_for_bit_on_metrics_and_outputs(tmp_repo: TmpRepo) -> None:
    run = one_run(tmp_repo, SEEDED)

    done = reproduce(run, "--json")

    assert done.returncode == EXIT_CODES["matched"], done.stderr
    verdict = verdict_json(done)
    assert verdict["outcome"] == "matched"
    assert verdict["seeded"] is True
    assert [m["key"] for m in verdict["metrics"]] == ["loss"]
    assert [(o["path"], o["identical"]) for o in verdict["outputs"]] == [("metrics.json", True)]
    assert verdict["exit_code"] == {"original": 0, "reproduced": 0, "ok": True}
    assert show_json(run)["run"]["seeds"]["random.seed"] == 11
    assert "random.Random" not in show_json(run)["run"]["seeds"]


def test_an_unseeded_run_that_drifts_is_named_as_such(tmp_repo: TmpRepo) -> None:
    run = one_run(tmp_repo, UNSEEDED)
    shown = ledger("show", run).stdout
    plan = reproduce(run, "--dry-run")

    done = reproduce(run)

    assert "no seed recorded" in shown
    assert "no seed recorded" in plan.stdout
    assert list(show_json(run)["run"]["seeds"]) == ["PYTHONHASHSEED"]  # set by `ledger run`, not the script
    assert done.returncode == EXIT_CODES["did_not_match"]
    assert "did not match: loss drifted" in done.stderr
    assert "the original set no seed" in done.stderr


def test_nothing_to_compare_is_inconclusive_not_matched(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({".gitignore": "*.log\n"})
    run = one_run(tmp_repo, PRINTS_ONLY)

    done = reproduce(run, "--json")

    assert done.returncode == EXIT_CODES["inconclusive"], done.stderr
    assert verdict_json(done)["outcome"] == "inconclusive"
    assert "matched" not in done.stderr.split("[5/5]")[1]
    assert "inconclusive: nothing to compare" in done.stderr


def test_identical_outputs_without_metrics_match_on_the_outputs(tmp_repo: TmpRepo) -> None:
    run = one_run(tmp_repo, WRITES_MODEL)

    done = reproduce(run, "--json")

    assert done.returncode == EXIT_CODES["matched"], done.stderr
    verdict = verdict_json(done)
    assert verdict["metrics"] == []
    assert [(o["path"], o["identical"]) for o in verdict["outputs"]] == [("model.bin", True)]
    assert "matched: 1 output identical" in done.stderr


INTO_OUT = """\
import os, pathlib
os.makedirs("out", exist_ok=True)
pathlib.Path("out/model.pt").write_bytes({content})
"""


def test_an_output_folder_an_earlier_run_made_is_still_compared(tmp_repo: TmpRepo) -> None:
    """The first run makes `out/`; the second writes into it; its reproduction, in a
    fresh worktree, makes `out/` again. The same file must still be compared."""
    tmp_repo.gen({".gitignore": "out/\n"})
    one_run(tmp_repo, INTO_OUT.format(content="bytes(range(256))"))
    ledger_process("run", "--", "python", "train.py")
    second = str(runs_json()[0]["id"])
    assert show_json(second)["run"]["run_folders"] == []

    done = reproduce(second, "--json")

    assert done.returncode == EXIT_CODES["matched"], done.stderr
    assert [(o["path"], o["identical"]) for o in verdict_json(done)["outputs"]] == [("out/model.pt", True)]
    assert "matched: 1 output identical" in done.stderr


def test_an_output_folder_an_earlier_run_made_still_shows_a_difference(tmp_repo: TmpRepo) -> None:
    tmp_repo.gen({".gitignore": "out/\n"})
    one_run(tmp_repo, INTO_OUT.format(content="os.urandom(64)"))
    ledger_process("run", "--", "python", "train.py")
    second = str(runs_json()[0]["id"])

    done = reproduce(second)

    assert done.returncode == EXIT_CODES["did_not_match"], done.stderr
    assert "did not match: out/model.pt (differs)" in done.stderr


def test_outputs_that_differ_with_no_metric_did_not_match(tmp_repo: TmpRepo) -> None:
    script = "import os, pathlib\npathlib.Path('model.bin').write_bytes(os.urandom(64))\n"
    run = one_run(tmp_repo, script)

    done = reproduce(run)

    assert done.returncode == EXIT_CODES["did_not_match"]
    assert "did not match: model.bin (differs)" in done.stderr


def test_an_unchanged_ignored_input_is_copied_in_and_said(tmp_repo: TmpRepo) -> None:
    files = {".gitignore": "/data/processed/\n", "data/processed/train.txt": "2.5\n"}
    run = one_run(tmp_repo, READS_IGNORED, files)
    recorded = show_json(run)["run"]["ignored_inputs"]

    plan = reproduce(run, "--dry-run")
    done = reproduce(run)

    assert [i["path"] for i in recorded] == ["data/processed/train.txt"]
    assert "data/processed/train.txt (git-ignored, not in DVC): copied from the workspace" in plan.stdout
    assert done.returncode == EXIT_CODES["matched"], done.stderr
    assert "data/processed/train.txt: git-ignored input copied from the workspace (unchanged" in done.stderr


@pytest.mark.parametrize("change", ["changed", "absent"])
def test_a_changed_or_absent_ignored_input_is_named_and_nothing_runs(tmp_repo: TmpRepo, change: str) -> None:
    files = {".gitignore": "/data/processed/\n", "data/processed/train.txt": "2.5\n"}
    run = one_run(tmp_repo, READS_IGNORED, files)
    target = tmp_repo.root / "data/processed/train.txt"
    if change == "changed":
        target.write_text("3.5\n")
    else:
        target.unlink()

    plan = reproduce(run, "--dry-run")
    done = reproduce(run, "--json")

    said = "has changed in the workspace" if change == "changed" else "is no longer in the workspace"
    assert plan.returncode == EXIT_CODES["could_not_run"]
    assert (
        f"data/processed/train.txt, which the run read (git ignores it and DVC does not track it), {said}"
        in plan.stdout
    )
    assert done.returncode == EXIT_CODES["could_not_run"]
    assert verdict_json(done)["outcome"] == "could_not_run"
    assert len(runs_json()) == 1  # nothing ran


def test_tracked_and_written_files_are_not_ignored_inputs(tmp_repo: TmpRepo) -> None:
    script = (
        "import json, pathlib\n"
        "pathlib.Path('cache').mkdir(exist_ok=True)\n"
        "pathlib.Path('cache/made.txt').write_text('1')\n"
        "n = float(pathlib.Path('cache/made.txt').read_text()) + float(open('config.txt').read())\n"
        "json.dump({'n': n}, open('metrics.json', 'w'))\n"
    )
    run = one_run(tmp_repo, script, {".gitignore": "cache/\n", "config.txt": "2\n"})

    assert show_json(run)["run"]["ignored_inputs"] == []
    assert reproduce(run).returncode == EXIT_CODES["matched"]


def test_reproduce_runs_the_recorded_interpreter_whatever_path_says(
    tmp_repo: TmpRepo, tmp_path: Path
) -> None:
    script = "import json, sys\njson.dump({'prefix': len(sys.prefix)}, open('metrics.json', 'w'))\n"
    run = one_run(tmp_repo, script)
    other = tmp_path / "other-bin"
    other.mkdir()
    (other / "python").symlink_to("/usr/bin/python3")
    path = f"{other}{os.pathsep}{os.environ['PATH']}"

    plan = reproduce(run, "--dry-run", env={"PATH": path})
    done = reproduce(run, env={"PATH": path})

    recorded = show_json(run)["run"]["interpreter"]
    assert recorded == str(Path(sys.executable).parent / "python")
    assert f"command      {recorded} train.py" in plan.stdout
    assert done.returncode == EXIT_CODES["matched"], done.stderr
    new = next(r for r in runs_json() if r["id"] != run)
    assert show_json(new["id"])["run"]["interpreter"] == recorded


def test_data_under_a_parent_ignore_rule_is_restored_and_each_path_told_once(dvc_repo: TmpRepo) -> None:
    """`/data/*` in the root `.gitignore`: DVC refuses `dvc checkout data/raw` in a fresh
    worktree, but restores it by its `.dvc` file."""
    dvc_repo.gen(
        {
            ".gitignore": "/data/*\n!/data/*.dvc\n",
            "data/raw/a.csv": "id,x\n1,0.5\n",
            "data/raw/b.csv": "id,x\n2,1.5\n",
        }
    )
    dvc_repo.dvc("add", "-q", "data/raw")  # the root rule already ignores it: no data/.gitignore
    script = (
        "import json, pathlib\n"
        "rows = sorted(pathlib.Path('data/raw').glob('*.csv'))\n"
        "json.dump({'files': len(rows)}, open('metrics.json', 'w'))\n"
    )
    run = one_run(dvc_repo, script)

    done = reproduce(run)

    assert done.returncode == EXIT_CODES["matched"], done.stderr
    assert "[2/5] data: 1 of 1 DVC path(s) restored" in done.stderr
    assert done.stderr.count("data/raw: restored from the DVC cache, verified") == 1
    assert "warning" not in done.stderr
