"""The one decision "does this commit hold that run's code", against git's real output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.commits.code_match import UNKNOWN, RunCode, foreign_changes, holding
from ledger.git.command import changed_between, peel_trees

if TYPE_CHECKING:
    from tests.repo import TmpRepo


def _history(repo: TmpRepo) -> tuple[str, str, str]:
    """Three commits: code, code + results, and a code change."""
    repo.gen({"train.py": "print(1)\n", "params.yaml": "lr: 0.1\n"})
    base = repo.commit("code")
    repo.gen({"metrics.json": '{"acc": 0.9}'})
    results = repo.commit("results")
    repo.gen({"train.py": "print(2)\n"})
    changed = repo.commit("other code")
    return base, results, changed


def test_commit_pairs_sharing_a_target_each_get_their_own_diff(tmp_repo: TmpRepo) -> None:
    base, results, changed = _history(tmp_repo)

    diffs = changed_between(tmp_repo.root, [(base, changed), (results, changed), (changed, changed)])

    assert diffs == [{"metrics.json", "train.py"}, {"train.py"}, set()]


def test_tree_pairs_and_mixed_pairs_give_the_same_diffs_as_commits(tmp_repo: TmpRepo) -> None:
    base, results, changed = _history(tmp_repo)
    tree = {sha: tmp_repo.git("rev-parse", f"{sha}^{{tree}}") for sha in (base, results, changed)}

    by_commit = changed_between(tmp_repo.root, [(base, results), (results, changed)])
    by_tree = changed_between(tmp_repo.root, [(tree[base], tree[results]), (tree[results], tree[changed])])
    mixed = changed_between(tmp_repo.root, [(base, tree[results]), (tree[results], changed)])

    assert by_commit == by_tree == mixed == [{"metrics.json"}, {"train.py"}]


def test_an_object_git_does_not_have_is_none_not_an_empty_diff(tmp_repo: TmpRepo) -> None:
    base, results, _ = _history(tmp_repo)
    missing = "0123456789abcdef0123456789abcdef01234567"

    assert changed_between(tmp_repo.root, [(missing, results), (base, results)]) == [None, {"metrics.json"}]
    assert peel_trees(tmp_repo.root, [missing]) == {missing: None}


def test_a_commit_holds_a_run_whose_snapshot_differs_only_in_what_it_wrote(tmp_repo: TmpRepo) -> None:
    base, results, _changed = _history(tmp_repo)
    wrote_metrics = RunCode(code=base, written=("metrics.json",))
    wrote_nothing = RunCode(code=base, written=())

    assert holding(tmp_repo.root, results, [wrote_metrics, wrote_nothing]) == [True, False]


def test_a_commit_does_not_hold_a_run_of_other_code(tmp_repo: TmpRepo) -> None:
    base, _results, changed = _history(tmp_repo)
    run = RunCode(code=base, written=("metrics.json",))

    assert holding(tmp_repo.root, changed, [run]) == [False]
    assert foreign_changes(tmp_repo.root, changed, [run]) == [frozenset({"train.py"})]


def test_a_run_whose_snapshot_is_missing_is_never_held(tmp_repo: TmpRepo) -> None:
    _, results, _ = _history(tmp_repo)
    ghost = RunCode(code="0123456789abcdef0123456789abcdef01234567", written=("metrics.json",))

    assert holding(tmp_repo.root, results, [ghost]) == [False]
    assert foreign_changes(tmp_repo.root, results, [ghost]) == [UNKNOWN]
