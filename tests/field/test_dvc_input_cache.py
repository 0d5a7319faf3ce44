"""Field corpus: a project that writes a cache into its own DVC-tracked input folder.

Tokenisers and dataset loaders often keep their cache beside the data (`data/corpus/
.cache/`). The inputs matched DVC's record when the run started; the record, `ledger
show` and the reproduce plan must say so, and not blame the inputs for what the run
wrote after reading them.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest

from tests.helpers import ledger, ledger_process, runs_json, show_json
from tests.projects import building

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

PY = sys.executable

TRAIN = """\
import json, pathlib
corpus = pathlib.Path("data/corpus")
texts = [p.read_text() for p in sorted(corpus.glob("*.txt"))]
cache = corpus / ".cache"
cache.mkdir(exist_ok=True)
(cache / "tokens.json").write_text(json.dumps([t.split() for t in texts]))
json.dump({"tokens": sum(len(t.split()) for t in texts)}, open("metrics.json", "w"))
"""


@pytest.fixture(scope="session")
def project(_dvc_template: Path, tmp_path_factory: pytest.TempPathFactory) -> TmpRepo:
    """The corpus `dvc add`ed and the trainer, committed once: each test runs in a copy (`own_copy`)."""
    with building(tmp_path_factory, "input-cache", _dvc_template) as repo:
        repo.gen(
            {"data/corpus/a.txt": "the cat sat\n", "data/corpus/b.txt": "on the mat\n", "train.py": TRAIN}
        )
        repo.dvc_add("data/corpus")
        repo.commit("corpus and trainer")
    return repo


def corpus(repo: TmpRepo) -> tuple[str, dict[str, Any]]:
    run_id = runs_json(cwd=repo.root)[0]["id"]
    detail = show_json(run_id, cwd=repo.root)["run"]
    (item,) = [d for d in detail["data"] if d["path"] == "data/corpus"]
    return run_id, item


def test_a_cache_written_into_the_input_folder_does_not_fail_the_inputs(
    project: TmpRepo, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    dvc_repo = own_copy(project)

    ledger_process("run", "--", PY, "train.py", cwd=dvc_repo.root)

    run_id, item = corpus(dvc_repo)
    assert (dvc_repo.root / "data/corpus/.cache/tokens.json").is_file()  # the run did write there
    assert (item["workspace_match"], item["checked"]) == (True, "start")
    shown = ledger("show", run_id, cwd=dvc_repo.root).stdout
    assert "(input, out, 23 bytes, 2 files, matched DVC's record at the start)" in shown
    plan = ledger_process("reproduce", "--dry-run", run_id, cwd=dvc_repo.root).stdout
    assert "did not match" not in plan
    assert "[input: matched DVC's record at the start]" in plan


def test_an_input_changed_before_the_run_is_said_to_differ_at_the_start(
    project: TmpRepo, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    dvc_repo = own_copy(project)
    dvc_repo.gen({"data/corpus/a.txt": "the dog sat\n"})  # edited, never `dvc add`ed

    ledger_process("run", "--", PY, "train.py", cwd=dvc_repo.root)

    run_id, item = corpus(dvc_repo)
    assert (item["workspace_match"], item["checked"]) == (False, "start")
    shown = ledger("show", run_id, cwd=dvc_repo.root).stdout
    assert "did not match DVC's record at the start" in shown
    plan = ledger_process("reproduce", "--dry-run", run_id, cwd=dvc_repo.root).stdout
    assert "data/corpus: the original run's files did not match DVC's record when it started" in plan
    assert "[input: did not match DVC's record at the start]" in plan


def test_outputs_are_checked_when_the_run_ends(
    project: TmpRepo, own_copy: Callable[[TmpRepo], TmpRepo]
) -> None:
    """A `dvc repro` run: its stage's outputs are compared with the `dvc.lock` it leaves."""
    dvc_repo = own_copy(project)
    dvc_repo.gen(
        {
            "dvc.yaml": f"stages:\n  train:\n    cmd: {PY} train.py\n    deps: [data/corpus, train.py]\n"
            "    outs: [metrics.json]\n"
        }
    )
    dvc_repo.commit("pipeline")

    ledger_process("run", "--", "dvc", "repro", cwd=dvc_repo.root)

    run_id = runs_json(cwd=dvc_repo.root)[0]["id"]
    data = {d["path"]: d for d in show_json(run_id, cwd=dvc_repo.root)["run"]["data"]}
    assert (data["metrics.json"]["workspace_match"], data["metrics.json"]["checked"]) == (True, "end")
    assert (data["data/corpus"]["workspace_match"], data["data/corpus"]["checked"]) == (True, "start")
    shown = ledger("show", run_id, cwd=dvc_repo.root).stdout
    assert "(output, out, " in shown
    assert "matched DVC's record at the end" in shown
