"""`ledger backfill` on real histories (built with `git fast-import`) and a real ledger file."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest

from ledger.commits.backfill import main as backfill_main
from ledger.commits.runs import read_commit_runs, record_commit_runs
from ledger.core.config import Config
from ledger.core.errors import GitError
from ledger.core.urls import sqlite_file
from ledger.git.batch import glob_regex
from ledger.read import queries
from ledger.store.workspace import locate, open_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from ledger.core.records import RunDetail
    from ledger.core.summary import RunSummary
    from ledger.store.engine import Store
    from tests.repo import TmpRepo

pytestmark = pytest.mark.integration

T0 = 1_767_225_600
"""2026-01-01T00:00:00Z: commit `i` of a history is made at T0 + 60 * i."""

DVC_LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data/raw.csv
      hash: md5
      md5: {dep}
      size: 10
    outs:
    - path: model.pkl
      hash: md5
      md5: {out}
      size: 20
"""


def import_history(
    repo: TmpRepo, changes: list[Mapping[str, str | None]], *, branch: str = "main", parent: str | None = None
) -> list[str]:
    """Commit each mapping of path -> content (None deletes) with `git fast-import`; the SHAs."""
    stream = []
    for i, files in enumerate(changes):
        message = f"commit {i}"
        stream.append(
            f"commit refs/heads/{branch}\nmark :{i + 1}\n"
            f"committer Test Committer <committer@example.com> {T0 + 60 * i} +0000\n"
            f"data {len(message)}\n{message}\n"
        )
        if i == 0 and parent is not None:
            stream.append(f"from {parent}\n")
        for path, content in files.items():
            if content is None:
                stream.append(f"D {path}\n")
            else:
                data = content.encode()
                stream.append(f"M 100644 inline {path}\ndata {len(data)}\n{content}\n")
    marks = repo.root.parent / "marks"
    subprocess.run(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
        cwd=repo.root,
        input="".join(stream).encode(),
        check=True,
    )
    found = dict(line.split() for line in marks.read_text().splitlines())
    return [found[f":{i + 1}"] for i in range(len(changes))]


def result_change(i: int) -> dict[str, str | None]:
    return {
        "params.yaml": f"lr: {i}\nmodel:\n  depth: 3\n  name: net{i}\n",
        "metrics.json": json.dumps({"acc": i / 1000, "eval": {"loss": 1 - i / 1000}}),
    }


def backfill(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = backfill_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ledger_store(migrated_ledger: Callable[[Path], Path]) -> Iterator[Store]:
    """The repository's own ledger, at the schema head (a copy: a first open is not what
    backfill is about)."""
    workspace = locate()
    path = sqlite_file(workspace.url)
    assert path is not None
    migrated_ledger(path)
    store = open_store(workspace)
    yield store
    store.close()


def all_runs(store: Store) -> list[RunSummary]:
    return queries.list_runs(store, limit=None, params=["*"], metrics=["*"])


def only_run(store: Store) -> RunDetail:
    runs = all_runs(store)
    assert len(runs) == 1
    return queries.get_run(store, runs[0].id)


@pytest.fixture
def history(tmp_repo: TmpRepo) -> list[str]:
    """200 result commits, each followed every fourth time by one that carries none."""
    changes: list[Mapping[str, str | None]] = []
    for i in range(200):
        changes.append(result_change(i))
        if i % 4 == 0:
            changes.append({"README.md": f"readme {i}\n", "src/train.py": f"print({i})\n"})
    shas = import_history(tmp_repo, changes)
    return [sha for sha, change in zip(shas, changes, strict=True) if "params.yaml" in change]


def test_records_every_result_commit(
    tmp_repo: TmpRepo, history: list[str], capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    tmp_repo.gen({"params.yaml": "lr: 999\n"})  # the work tree is never read

    code, _, err = backfill(capsys)

    assert code == 0
    assert err.strip() == "backfill: 200 commits with results, 200 recorded, 0 already in the ledger"
    runs = {r.commit: r for r in all_runs(ledger_store)}
    assert set(runs) == set(history)
    times = {sha: float(t) for sha, t in (line.split() for line in _log(tmp_repo, "%H %ct"))}
    for i, sha in enumerate(history):
        run = runs[sha]
        assert (run.source, run.status, run.branch, run.dirty) == ("backfill", "finished", "main", False)
        assert run.started_at == times[sha]
        assert run.params == {"lr": i, "model.depth": 3, "model.name": f"net{i}"}
        assert run.metrics == pytest.approx({"acc": i / 1000, "eval.loss": 1 - i / 1000})


def test_ids_sort_like_history_and_snapshots_stay_reachable(
    tmp_repo: TmpRepo, history: list[str], capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    backfill(capsys)

    runs = all_runs(ledger_store)
    by_id = [r.commit for r in sorted(runs, key=lambda r: r.id)]
    assert by_id == history
    refs = dict(line.split() for line in tmp_repo.git("for-each-ref", "--format=%(refname) %(objectname)",
                                                       "refs/ledger/runs/").splitlines())  # fmt: skip
    assert refs == {f"refs/ledger/runs/{r.id}": r.commit for r in runs}
    detail = queries.get_run(ledger_store, runs[0].id)
    assert detail.snapshot == detail.summary.commit
    assert detail.argv == ()
    assert detail.environment_digest is None


def test_second_backfill_adds_nothing(
    history: list[str], capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    backfill(capsys)

    code, _, err = backfill(capsys)

    assert code == 0
    assert err.strip() == "backfill: 200 commits with results, 0 recorded, 200 already in the ledger"
    assert len(all_runs(ledger_store)) == 200


def test_since_limits_the_walk(
    history: list[str], capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    code, _, err = backfill(capsys, "--since", history[149])

    assert code == 0
    assert "50 commits with results, 50 recorded" in err
    assert {r.commit for r in all_runs(ledger_store)} == set(history[150:])


def test_dry_run_lists_and_records_nothing(
    history: list[str], capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    backfill(capsys, "--since", history[196])

    code, out, err = backfill(capsys, "--dry-run", "--since", history[195])

    assert code == 0
    assert out.splitlines() == [
        f"{history[196][:12]}  2026-01-01 04:05  metrics.json, params.yaml",
    ]
    assert (
        err.strip()
        == "backfill (dry run): 4 commits with results, 1 would be recorded, 3 already in the ledger"
    )
    assert len(all_runs(ledger_store)) == 3


def test_malformed_params_file_is_a_capture_error(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    import_history(tmp_repo, [{"params.yaml": "lr: [1\n", "metrics.json": '{"acc": 0.5, "note": "x"}'}])

    code, _, _ = backfill(capsys)

    assert code == 0
    run = only_run(ledger_store)
    assert run.params == ()
    assert [(m.key, m.value) for m in run.metrics] == [("acc", 0.5)]
    assert len(run.capture_errors) == 2
    assert run.capture_errors[0].startswith("params.yaml: not valid yaml: ")
    assert run.capture_errors[1] == "metrics.json: metric 'note' is not a number ('x'); skipped"


def test_dvc_lock_commit_records_data_refs(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    import_history(
        tmp_repo,
        [
            {"dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n"},
            {"dvc.lock": DVC_LOCK.format(dep="a" * 32, out="b" * 32)},
            {"dvc.lock": DVC_LOCK.format(dep="a" * 32, out="c" * 32)},
        ],
    )

    code, _, err = backfill(capsys)

    assert code == 0
    assert "2 commits with results, 2 recorded" in err
    runs = sorted(all_runs(ledger_store), key=lambda r: r.started_at)
    details = [queries.get_run(ledger_store, r.id) for r in runs]
    assert [[(d.path, d.role, d.value) for d in run.data] for run in details] == [
        [("data/raw.csv", "dep", "a" * 32), ("model.pkl", "out", "b" * 32)],
        [("data/raw.csv", "dep", "a" * 32), ("model.pkl", "out", "c" * 32)],
    ]
    out = details[1].data[1]
    assert (out.algorithm, out.size, out.source, out.stage, out.workspace_match) == (
        "md5", 20, "dvc.lock", "train", None
    )  # fmt: skip


def test_files_declared_in_dvc_yaml_are_read(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    dvc_yaml = (
        "stages:\n  train:\n    wdir: ml\n    cmd: python train.py\n"
        "    params:\n    - conf/hp.yaml:\n      - lr\n    metrics:\n    - eval/scores.json\n"
    )
    lock = DVC_LOCK.replace("data/raw.csv", "../data/raw.csv").format(dep="a" * 32, out="d" * 32)
    import_history(
        tmp_repo,
        [
            {
                "dvc.yaml": dvc_yaml,
                "ml/conf/hp.yaml": "lr: 0.5\n",
                "ml/eval/scores.json": '{"f1": 0.75}',
                "dvc.lock": lock,
            }
        ],
    )

    backfill(capsys)

    run = only_run(ledger_store)
    assert [(p.key, p.value, p.source) for p in run.params] == [("lr", 0.5, "ml/conf/hp.yaml")]
    assert [(m.key, m.value, m.source) for m in run.metrics] == [("f1", 0.75, "ml/eval/scores.json")]
    assert [d.path for d in run.data] == ["data/raw.csv", "ml/model.pkl"]
    assert run.capture_errors == ()


def test_a_key_two_metrics_files_share_keeps_both_values(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    dvc_yaml = "metrics:\n- results/train/metrics.json\n- results/evaluate/metrics.json\n"
    import_history(
        tmp_repo,
        [
            {
                "dvc.yaml": dvc_yaml,
                "results/train/metrics.json": '{"dice": 0.95, "loss": 0.1}',
                "results/evaluate/metrics.json": '{"dice": 0.89}',
                "dvc.lock": DVC_LOCK.format(dep="a" * 32, out="d" * 32),
            }
        ],
    )

    backfill(capsys)

    run = only_run(ledger_store)
    assert sorted((m.key, m.value) for m in run.metrics) == [
        ("loss", 0.1),
        ("results/evaluate/metrics.json:dice", 0.89),
        ("results/train/metrics.json:dice", 0.95),
    ]


def test_a_commit_of_files_dvc_yaml_declares_carries_results(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    dvc_yaml = "params:\n- results/train/params.yaml\nmetrics:\n- results/train/metrics.json\n"
    import_history(
        tmp_repo,
        [
            {"dvc.yaml": dvc_yaml, "train.py": "print(1)\n"},
            {"results/train/metrics.json": '{"dice": 0.9}', "results/train/params.yaml": "lr: 0.1\n"},
            {"results/other.json": '{"dice": 0.1}', "notes.md": "not results\n"},
        ],
    )
    tmp_repo.git("checkout", "-q", "main")

    backfill(capsys)

    run = only_run(ledger_store)
    assert [(m.key, m.value) for m in run.metrics] == [("dice", 0.9)]
    assert [(p.key, p.value) for p in run.params] == [("lr", 0.1)]


def test_dvc_file_commit_carries_results(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    tmp_repo.gen({"pyproject.toml": '[tool.ledger]\nresult_patterns = ["**/*.dvc"]\n'})
    dvc_file = "outs:\n- md5: {}\n  size: 5\n  hash: md5\n  path: raw.csv\n"
    import_history(tmp_repo, [{"data/raw.csv.dvc": dvc_file.format("e" * 32)}, {"README.md": "x\n"}])

    code, _, err = backfill(capsys)

    assert code == 0
    assert "1 commit with results, 1 recorded" in err
    assert [(d.path, d.value) for d in only_run(ledger_store).data] == [("data/raw.csv", "e" * 32)]


def test_merged_side_branch_is_walked_but_not_the_merge(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    base = import_history(tmp_repo, [result_change(0)])[0]
    side = import_history(tmp_repo, [result_change(1)], branch="side", parent=base)[0]
    tmp_repo.git("reset", "-q", "--hard")
    tmp_repo.git("commit", "-q", "--allow-empty", "-m", "main moves on")
    tmp_repo.git("merge", "-q", "--no-ff", "-m", "merge", "-s", "ours", "side")

    code, _, err = backfill(capsys, "--branch", "main")

    assert code == 0
    assert "2 commits with results, 2 recorded" in err
    assert {r.commit for r in all_runs(ledger_store)} == {base, side}
    assert {r.branch for r in all_runs(ledger_store)} == {"main"}


@pytest.mark.parametrize(
    ("rev", "branch"),
    [("side", "side"), ("refs/heads/side", "side"), ("v1", None), ("SHA", None)],
    ids=["name", "full-ref", "tag", "sha"],
)
def test_branch_option_names_the_branch_only_for_branches(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store, rev: str, branch: str | None
) -> None:
    sha = import_history(tmp_repo, [result_change(0)], branch="side")[0]
    tmp_repo.git("tag", "v1", sha)

    code, _, _ = backfill(capsys, "--branch", sha if rev == "SHA" else rev)

    assert code == 0
    assert only_run(ledger_store).summary.branch == branch


def test_detached_head_records_no_branch(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    sha = import_history(tmp_repo, [result_change(0)])[0]
    tmp_repo.git("checkout", "-q", "--detach", sha)

    backfill(capsys)

    assert only_run(ledger_store).summary.branch is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--branch", "nope"], "ledger: error: no branch or commit named 'nope'"),
        (["--since", "nope"], "ledger: error: --since: no commit named 'nope'"),
    ],
    ids=["branch", "since"],
)
def test_unknown_revision_is_one_error_line(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    import_history(tmp_repo, [result_change(0)])

    code, _, err = backfill(capsys, *args)

    assert code == 1
    assert err.splitlines()[0] == message


def test_repository_without_commits(tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = backfill(capsys)

    assert code == 1
    assert err.startswith("ledger: error: the repository has no commits yet")


def test_commit_recorded_by_the_hook_is_not_recorded_again(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    shas = import_history(tmp_repo, [result_change(0), result_change(1)])
    runs = read_commit_runs(tmp_repo.root, [shas[1]], config=Config(), source="commit", branch="main")
    assert len(record_commit_runs(ledger_store, runs)) == 1

    code, _, err = backfill(capsys)

    assert code == 0
    assert err.strip() == "backfill: 2 commits with results, 1 recorded, 1 already in the ledger"
    assert sorted(r.source for r in all_runs(ledger_store)) == ["backfill", "commit"]


def test_commit_linked_to_a_run_is_not_recorded_again(
    tmp_repo: TmpRepo, capsys: pytest.CaptureFixture[str], ledger_store: Store
) -> None:
    from ledger.core.ids import new_run_id
    from ledger.core.records import NewRun
    from ledger.store import tables
    from ledger.store.writes import create_run

    sha = import_history(tmp_repo, [result_change(0)])[0]
    run_id = new_run_id()
    create_run(ledger_store, NewRun(id=run_id, source="run", started_at=float(T0), status="finished"))
    with ledger_store.writing() as session:
        session.add(tables.CommitLinkRow(run_id=run_id, commit=sha, linked_at=float(T0)))

    code, _, err = backfill(capsys)

    assert code == 0
    assert "0 recorded, 1 already in the ledger" in err


def test_read_commit_runs_keeps_order_and_shares_parsed_blobs(tmp_repo: TmpRepo) -> None:
    shas = import_history(tmp_repo, [result_change(0), {"metrics.json": '{"acc": 1}'}, result_change(2)])
    asked = [shas[2], shas[0], shas[1]]

    runs = read_commit_runs(tmp_repo.root, asked, config=Config(), source="backfill")

    assert [r.run.commit for r in runs] == asked
    assert [r.run.started_at for r in runs] == [T0 + 120, T0, T0 + 60]
    assert [{p.key: p.value for p in r.run.params}["lr"] for r in runs] == [2, 0, 0]
    assert [next((m.key, m.value) for m in r.metrics) for r in runs] == [
        ("acc", 0.002),
        ("acc", 0),
        ("acc", 1),
    ]


def test_read_commit_runs_refuses_what_is_not_a_commit(tmp_repo: TmpRepo) -> None:
    sha = import_history(tmp_repo, [result_change(0)])[0]
    tree = tmp_repo.git("rev-parse", f"{sha}^{{tree}}")

    with pytest.raises(GitError, match=f"not a commit: {tree}"):
        read_commit_runs(tmp_repo.root, [sha, tree], config=Config(), source="backfill")


PATHS = (
    "dvc.lock", "a/dvc.lock", "a/b/dvc.lock", "x.dvc", "a/x.dvc", "a/b/x.dvc", "a.dvc.bak",
    "params.yaml", "conf/params.yaml", "reports/m.json", "reports/deep/m.json", "reports/m.yaml",
    "weird[1].json", "dvc.lockx",
)  # fmt: skip


@pytest.mark.parametrize(
    "pattern",
    ["dvc.lock", "**/dvc.lock", "*.dvc", "**/*.dvc", "*/dvc.lock", "reports/*.json", "reports/**",
     "a/**/dvc.lock", "?.dvc", "[ax].dvc", "[!a]*.dvc", "**/*.json", "a[/]x.dvc", "a[!b]x.dvc"],
)  # fmt: skip
def test_glob_matching_agrees_with_git_pathspecs(tmp_repo: TmpRepo, pattern: str) -> None:
    tmp_repo.gen(dict.fromkeys(PATHS, "x\n"))
    tmp_repo.git("add", "-A")
    by_git = set(tmp_repo.git("ls-files", "--", f":(glob){pattern}").splitlines())

    ours = {p for p in PATHS if glob_regex([pattern]).fullmatch(p)}

    assert ours == by_git


def _log(repo: TmpRepo, fmt: str) -> list[str]:
    return repo.git("log", f"--format={fmt}").splitlines()
