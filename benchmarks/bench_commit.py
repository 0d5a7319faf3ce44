"""What the ledger's git hooks cost on every commit.

Times 20 commits three ways in one run, each commit alone (the cases take turns, and the
ledger's detached ingester finishes before the next commit): a bare commit; the ledger's
hooks as `ledger init` installs them; pre-commit's no-op floor, a config with one trivial
`language: system` hook installed for the pre-commit stage. Every other commit carries
results (metrics.json), so the ingester gets work too. Prints medians, the ledger's cost
above a bare commit (goal: at most 50 ms) and the ratios, then what each hook's own
command costs alone, with and without a run waiting to be committed.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import _common as c

from ledger.commits import inbox
from ledger.setup.hook_specs import HOOKS

STAGES = sorted({h.stage for h in HOOKS if h.default})
GOAL_ABOVE_BARE = 0.050
PAUSE = 0.3
"""Seconds between commits: people do not commit back to back."""


def main(argv: list[str] | None = None) -> int:
    """Build three repos, time their commits alternately, print the table."""
    opts = c.parse_args(__doc__ or "", argv)
    commits = 4 if opts.quick else 20
    pause = 0.0 if opts.quick else PAUSE  # the smoke test reads no figure: commits back to back
    work = c.work_dir("commit")
    env = c.bench_env(work / "home", {"PRE_COMMIT_HOME": str(work / "pre-commit-home")})
    c.say(c.machine())
    repos = {
        "bare commit": _repo(work / "bare", env),
        "exp-ledger hooks (ledger init)": _ledger(work / "ledger", env),
        "pre-commit floor (one no-op hook)": _floor(work / "floor", env),
    }
    times: dict[str, list[float]] = {name: [] for name in repos}
    ingest: list[float] = []
    ours_repo = repos["exp-ledger hooks (ledger init)"]
    for i in range(commits):
        for name, repo in repos.items():
            times[name].append(_commit(repo, env, i))
            if repo == ours_repo:
                # The commit is done; its detached ingester is not waited for by the user,
                # but it would share the CPUs with the next timed commit: let it finish.
                ingest.append(_settle(repo))
            time.sleep(pause)
    bare, ours, floor = (c.median(times[n]) for n in repos)
    c.table(
        f"git commit, each timed alone, median of {commits} (ledger stages: {', '.join(STAGES)})",
        ["case", "median", "min", "max", "/ bare"],
        [
            (name, c.seconds(c.median(t)), c.seconds(min(t)), c.seconds(max(t)), c.ratio(c.median(t) / bare))
            for name, t in times.items()
        ],
    )
    above = ours - bare
    c.say(
        f"exp-ledger above a bare commit: {c.seconds(above)}  "
        f"{c.verdict(above <= GOAL_ABOVE_BARE)} (goal <= 50 ms)"
    )
    c.say(f"pre-commit's floor above a bare commit: {c.seconds(floor - bare)}")
    c.say(f"exp-ledger / pre-commit floor: {c.ratio(ours / floor)}")
    c.say(f"detached ingest after each commit (not waited for): median {c.seconds(c.median(ingest))}")
    runs = c.run_timed([*c.ledger_command(), "list", "--all", "--json"], cwd=ours_repo, env=env)[1]
    recorded = len(json.loads(runs.stdout))
    c.say(f"runs the ledger recorded from the {commits // 2} result commits: {recorded}")
    _hooks_alone(ours_repo, env, repeats=1 if opts.quick else 20)
    return 0


def _hooks_alone(repo: Path, env: dict[str, str], *, repeats: int) -> None:
    """Each git hook script, and each hook's command as pre-commit runs it, timed alone.

    Each timing starts once the inbox is empty: the detached ingesters of earlier
    timings would otherwise share the two CPUs with the hook being timed.
    """
    entry = {h.stage: shlex.split(h.entry) for h in HOOKS}
    message = repo.parent / "message.txt"
    message.write_text("subject\n")
    pre, post = [*entry["prepare-commit-msg"], str(message)], entry["post-commit"]
    # The hooks as a clone without `ledger init` runs them: no shell fast path.
    python = {
        **env,
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "ledger.hookscript",
        "GIT_CONFIG_VALUE_0": "",
    }

    def timed(argv: list[str], case_env: dict[str, str]) -> float:
        times = []
        for _ in range(repeats):
            _settle(repo)
            times.append(c.run_timed(argv, cwd=repo, env=case_env)[0])
        return c.median(times)

    hooks = repo / ".git" / "hooks"
    rows = [
        ("post-commit, the git hook `ledger init` installs", timed([str(hooks / "post-commit")], env)),
        (
            "prepare-commit-msg, the git hook `ledger init` installs",
            timed([str(hooks / "prepare-commit-msg"), str(message)], env),
        ),
        ("post-commit (shell)", timed(post, env)),
        ("post-commit (Python: no ledger.hookscript)", timed(post, python)),
        ("prepare-commit-msg, no run waiting (shell)", timed(pre, env)),
        ("prepare-commit-msg, no run waiting (Python)", timed(pre, python)),
    ]
    c.run_timed([*c.ledger_command(), "run", "--", sys.executable, "-c", "pass"], cwd=repo, env=env)
    rows.append(("prepare-commit-msg, a run waiting (Python)", timed(pre, env)))
    c.table(
        f"each hook alone (no commit), median of {repeats}",
        ["hook", "median"],
        [(name, c.seconds(t)) for name, t in rows],
    )


def _settle(repo: Path, timeout: float = 30.0) -> float:
    """Wait until the detached ingesters have taken every event out of the inbox; how long."""
    folder = inbox.ledger_dir(repo / ".git") / inbox.INBOX
    start = time.monotonic()
    while time.monotonic() - start < timeout and inbox.events_in(folder):
        time.sleep(0.01)
    waited = time.monotonic() - start
    time.sleep(0.2)  # the last ingester's exit
    return waited


def _repo(path: Path, env: dict[str, str]) -> Path:
    repo = c.make_repo(path, env=env, files=20)
    (repo / "train.py").write_text("print('train')\n")
    c.git(repo, "add", "-A", env=env)
    c.git(repo, "commit", "-q", "-m", "code", env=env)
    return repo


def _floor(path: Path, env: dict[str, str]) -> Path:
    repo = _repo(path, env)
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks:\n  - id: noop\n    name: noop\n    entry: 'true'\n"
        "    language: system\n    always_run: true\n    pass_filenames: false\n"
    )
    pre_commit = str(Path(sys.executable).with_name("pre-commit"))
    c.run_timed([pre_commit, "install", "--hook-type", "pre-commit"], cwd=repo, env=env)
    c.git(repo, "add", "-A", env=env)
    c.git(repo, "commit", "-q", "-m", "hooks", env=env)
    return repo


def _ledger(path: Path, env: dict[str, str]) -> Path:
    repo = _repo(path, env)
    c.run_timed([*c.ledger_command(), "init"], cwd=repo, env=env)
    c.git(repo, "add", "-A", env=env)
    c.git(repo, "commit", "-q", "-m", "hooks", env=env)
    return repo


def _commit(repo: Path, env: dict[str, str], i: int) -> float:
    (repo / "train.py").write_text(f"print('train {i}')\n")
    if i % 2:
        (repo / "metrics.json").write_text(f'{{"acc": {i / 100}}}\n')
    c.git(repo, "add", "-A", env=env)
    elapsed, _ = c.run_timed(["git", "commit", "-q", "-m", f"commit {i}"], cwd=repo, env=env)
    return elapsed


if __name__ == "__main__":
    raise SystemExit(main())
