"""Planted secrets never reach anything the ledger keeps, shows or exports.

A real repository, `ledger init`, a real `ledger run` of a script that is given
secrets on its command line, in its environment and in its params file, prints them,
logs one through the API, and sits beside untracked credential files. Then every
place is searched: the ledger folder (database, WAL, spool), every git object (the
snapshot refs), `ledger show --json`, `list --json`, `log`, `export` (JSON and CSV)
and the wrapper's own lines. A run killed with `kill -9` is searched the same way.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import zlib
from typing import TYPE_CHECKING

import pytest

from ledger.core.redact import MASK
from tests.helpers import ledger, ledger_process, runs_json, show_json
from tests.projects import building

if TYPE_CHECKING:
    from pathlib import Path

    from tests.repo import TmpRepo

PY = sys.executable

# Fake credentials in the shapes providers issue (none is live), each unique so a
# search names the one that leaked.
SECRETS = {
    "argv --password": "hunter2-Pl4nted",
    "argv --hf_token": "hf_" + "Qw3rTyPl4nt" * 3,
    "argv --api-key": "apikeyPl4nted77",
    "argv --db-passwd": "passwdPl4nted88",
    "argv --secret": "s3cretPl4nted99",
    "argv --credentials": "credPl4nted1234",
    "argv OPENAI_API_KEY=": "sk-proj-" + "Pl4ntedOpenAI9" * 3,
    "argv Google key, 40 characters": "AIza" + "SyPl4ntedGoogleKey-_0123456789abcdefg",
    "argv URL password": "PgPl4ntedPass",
    "argv GitHub token": "ghp_" + "Pl4ntedGitHub0" * 3,
    "env WANDB_API_KEY, printed bare": "wandbEnvPl4nted5566",
    "env AWS_SECRET_ACCESS_KEY, printed": "awsSecretPl4nted/abc+def",
    "printed AWS key id": "AKIA" + "PL4NTEDAWSKEY123",
    "printed Slack token": "xoxb-" + "1234567890-Pl4ntedSlackTok",
    "printed JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbDRudGVkIn0.Pl4ntedJwtSig_abc123",
    "printed PEM private key": "MIIEpAIBAAKCAQEAPl4ntedPemBody",
    "printed fine-grained GitHub token": "github_pat_" + "Pl4ntedFineGrained0" * 2,
    "printed Bearer token": "bearerPl4ntedTok3n",
    "params.yaml db.password": "dbPassPl4nted",
    "params.yaml wandb.api_key": "wandbParamPl4nted",
    "API log_params service.api_key": "apiParamPl4nted",
    ".npmrc _authToken": "npm_" + "Pl4ntedNpmToken0123456789abcdefghij",
    "kaggle.json key": "kagglePl4ntedKey0123",
    ".aws/credentials": "awsFilePl4ntedSecret",
    "secrets.json": "secretsJsonPl4nted",
    "config.local.yaml password": "configLocalPl4nted",
    "service-account JSON": "saPl4ntedPrivateKeyId",
    ".docker/config.json auth": "ZG9ja2VyUGw0bnRlZA",
    ".git-credentials": "gitCredPl4nted",
    "notes.txt GitHub token": "ghp_" + "Pl4ntedInNotes00" * 3,
    ".env HF_TOKEN": "dotenvPl4ntedValue",
    "metrics.json value quoted in a capture problem": "mlflowPl4ntedPass",
}

TRAIN = """\
import argparse, json, os, sys
import ledger
vault = json.load(open(os.environ["VAULT"]))
parser = argparse.ArgumentParser()
for option in ("--password", "--hf_token", "--api-key", "--db-passwd", "--secret",
               "--credentials", "--google", "--url", "--github", "--tokenizer", "--max_tokens"):
    parser.add_argument(option)
args, rest = parser.parse_known_args()
print("args:", args)
print("argv:", " ".join(sys.argv[1:]))
print(f"AWS_SECRET_ACCESS_KEY={os.environ['AWS_SECRET_ACCESS_KEY']}")
print("wandb key", os.environ["WANDB_API_KEY"], "in use")
print("aws key id", vault["printed AWS key id"])
print("slack", vault["printed Slack token"], "jwt", vault["printed JWT"])
print("-----BEGIN RSA PRIVATE KEY-----\\n" + vault["printed PEM private key"] + "\\n-----END RSA PRIVATE KEY-----")
print("pat", vault["printed fine-grained GitHub token"])
print("Authorization: Bearer " + vault["printed Bearer token"])
print("max_tokens=512 tokenizer: bert-base-uncased num_tokens=7 secret_santa_count=3")
ledger.log_params({"service": {"api_key": vault["API log_params service.api_key"]}})
tracking = "https://trainer:" + vault["metrics.json value quoted in a capture problem"] + "@mlflow.internal"
json.dump({"acc": 0.9, "tracking": tracking}, open("metrics.json", "w"))
"""

WAIT = """\
import json, os, pathlib, time
vault = json.load(open(os.environ["VAULT"]))
print("starting with password:", vault["argv --password"], flush=True)
print("token", vault["notes.txt GitHub token"], flush=True)
pathlib.Path("ready").touch()
time.sleep(600)
"""


def _untracked(s: dict[str, str]) -> dict[str, str | bytes]:
    """Credential files as tools write them, and the params file, none of them committed."""
    return {
        "params.yaml": (
            "lr: 0.01\n"
            f"db:\n  host: db.internal\n  password: {s['params.yaml db.password']}\n"
            f"wandb:\n  project: demo\n  api_key: {s['params.yaml wandb.api_key']}\n"
        ),
        ".npmrc": f"//registry.npmjs.org/:_authToken={s['.npmrc _authToken']}\n",
        "kaggle.json": json.dumps({"username": "someone", "key": s["kaggle.json key"]}),
        ".aws/credentials": (
            "[default]\naws_access_key_id = AKIAEXAMPLEEXAMPLE12\n"
            f"aws_secret_access_key = {s['.aws/credentials']}\n"
        ),
        "secrets.json": json.dumps({"db": {"pw": s["secrets.json"]}}),
        "conf/config.local.yaml": f"database:\n  user: app\n  password: {s['config.local.yaml password']}\n",
        "keys/trainer-sa.json": json.dumps(
            {"type": "service_account", "project_id": "demo", "private_key_id": s["service-account JSON"]}
        ),
        ".docker/config.json": json.dumps({"auths": {"ghcr.io": {"auth": s[".docker/config.json auth"]}}}),
        ".git-credentials": f"https://someone:{s['.git-credentials']}@github.com\n",
        "notes.txt": f"remember to rotate {s['notes.txt GitHub token']}\n",
        ".env": f"HF_TOKEN={s['.env HF_TOKEN']}\n",
        # Ordinary untracked files: they must still be in the snapshot.
        "helper.py": "import getpass\n\ndef ask():\n    password = getpass.getpass()\n    token = tok.encode(password)\n",
        "notes.md": "try --max_tokens 512 and tokenizer: bert-base-uncased\n",
        "conf/model.yaml": "tokenizer: bert-base-uncased\nmax_tokens: 512\npad_token: '<pad>'\n",
    }


def _argv(s: dict[str, str]) -> list[str]:
    return [
        PY,
        "train.py",
        "--password",
        s["argv --password"],
        "--hf_token",
        s["argv --hf_token"],
        f"--api-key={s['argv --api-key']}",
        "--db-passwd",
        s["argv --db-passwd"],
        "--secret",
        s["argv --secret"],
        "--credentials",
        s["argv --credentials"],
        f"OPENAI_API_KEY={s['argv OPENAI_API_KEY=']}",
        "--google",
        s["argv Google key, 40 characters"],
        "--url",
        f"postgresql://trainer:{s['argv URL password']}@db.internal:5432/runs",
        "--github",
        s["argv GitHub token"],
        "--tokenizer",
        "bert-base-uncased",
        "--max_tokens",
        "512",
        "num_tokens=7",
        "secret_santa_count=3",
    ]


def plant_and_run(repo: TmpRepo, vault: Path) -> dict[str, str]:
    """Set up the repository, run the planted run and one killed with -9; returns what
    the CLI printed, by command."""
    repo.gen({"train.py": TRAIN, "wait.py": WAIT, ".gitignore": "ready\n"})
    repo.commit("scripts")
    ledger("init", cwd=repo.root)
    repo.commit("ledger init")
    repo.gen(_untracked(SECRETS))
    vault.write_text(json.dumps(SECRETS))
    env = {
        "VAULT": str(vault),
        "WANDB_API_KEY": SECRETS["env WANDB_API_KEY, printed bare"],
        "AWS_SECRET_ACCESS_KEY": SECRETS["env AWS_SECRET_ACCESS_KEY, printed"],
    }
    run = ledger_process("run", "--", *_argv(SECRETS), cwd=repo.root, env=env)
    shown = {"run (wrapper lines)": "\n".join(x for x in run.stderr.splitlines() if x.startswith("ledger:"))}
    shown["killed run: spool"] = _kill_a_run(repo, env)
    for run_id in (r["id"] for r in runs_json(cwd=repo.root)):
        shown[f"show --json {run_id}"] = ledger("show", run_id, "--json", cwd=repo.root).stdout
        shown[f"show {run_id}"] = ledger("show", run_id, cwd=repo.root).stdout
        shown[f"log {run_id}"] = ledger("log", run_id, cwd=repo.root).stdout
    shown["list --json"] = ledger("list", "--all", "--json", cwd=repo.root).stdout
    shown["export json"] = ledger("export", cwd=repo.root).stdout
    shown["export csv"] = ledger("export", "--format", "csv", cwd=repo.root).stdout
    return shown


def _kill_a_run(repo: TmpRepo, env: dict[str, str]) -> str:
    """`ledger run` killed with -9 mid-run; returns the modes its spool files had."""
    proc = subprocess.Popen(
        [PY, "-m", "ledger", "run", "--", PY, "wait.py", "--password", SECRETS["argv --password"]],
        cwd=repo.root,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    spool = repo.root / ".git" / "ledger" / "spool"
    deadline = time.monotonic() + 60
    while not any(b"token" in p.read_bytes() for p in spool.glob("*/output.log")):
        assert time.monotonic() < deadline, "the log never reached the spool"
        time.sleep(0.05)
    log = next(spool.glob("*/output.log"))
    modes = ", ".join(
        f"{path.name} {stat.S_IMODE(path.stat().st_mode):o}"
        for path in (log.parent, log, log.parent / "start.pickle")
    )
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return modes


def leaks(repo: TmpRepo, shown: dict[str, str]) -> dict[str, list[str]]:
    """Where each planted secret was found: {secret's label: [places]}."""
    places: dict[str, bytes] = {}
    home = repo.root / ".git" / "ledger"
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        places[f"file {path.relative_to(home)}"] = path.read_bytes()
    with sqlite3.connect(home / "ledger.db") as db:
        for run_id, data in db.execute("select run_id, data from logs"):
            places[f"stored log of {run_id[:8]}"] = zlib.decompress(data)
    objects = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo.root, capture_output=True, check=True
    )
    places["git objects (snapshot refs)"] = objects.stdout
    places.update({name: text.encode() for name, text in shown.items()})
    found: dict[str, list[str]] = {}
    for label, secret in SECRETS.items():
        hits = [name for name, data in places.items() if secret.encode() in data]
        if hits:
            found[label] = hits
    return found


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[TmpRepo, dict[str, str]]:
    """The planted repository, its run and its killed run, and what the CLI printed about
    them; made once per worker and shared: the tests only read it."""
    with building(tmp_path_factory, "planted") as repo:
        shown = plant_and_run(repo, repo.root.parent / "vault.json")
    return repo, shown


def test_no_planted_secret_is_kept_shown_or_exported(planted: tuple[TmpRepo, dict[str, str]]) -> None:
    tmp_repo, shown = planted

    assert leaks(tmp_repo, shown) == {}
    run_id = next(r["id"] for r in runs_json(cwd=tmp_repo.root) if r["status"] == "crashed")
    assert shown["killed run: spool"] == f"{run_id} 700, output.log 600, start.pickle 600"
    assert not any((tmp_repo.root / ".git" / "ledger" / "spool").iterdir()), "raw spool left after ingest"


def test_what_is_not_secret_is_kept(planted: tuple[TmpRepo, dict[str, str]]) -> None:
    tmp_repo, shown = planted
    finished = next(r for r in runs_json(cwd=tmp_repo.root) if r["status"] == "finished")
    detail = show_json(finished["id"], cwd=tmp_repo.root)

    params = detail["run"]["summary"]["params"]
    assert {k: params[k] for k in ("tokenizer", "max_tokens", "num_tokens", "secret_santa_count", "lr")} == {
        "tokenizer": "bert-base-uncased",
        "max_tokens": 512,
        "num_tokens": 7,
        "secret_santa_count": 3,
        "lr": 0.01,
    }
    assert params["db.host"] == "db.internal"
    assert detail["run"]["summary"]["metrics"] == {"acc": 0.9}
    problems = detail["run"]["capture_errors"]
    assert [e for e in problems if "'tracking' is not a number" in e and "@mlflow.internal" in e], problems
    assert params["password"] == params["db.password"] == params["service.api_key"] == MASK
    log = shown[f"log {finished['id']}"]
    assert "max_tokens=512 tokenizer: bert-base-uncased num_tokens=7 secret_santa_count=3" in log
    assert "--tokenizer bert-base-uncased --max_tokens 512 num_tokens=7" in log
    snapshot = tmp_repo.git("ls-tree", "-r", "--name-only", f"refs/ledger/runs/{finished['id']}").split("\n")
    assert {"train.py", "helper.py", "notes.md", "conf/model.yaml"} <= set(snapshot)


def test_the_record_says_what_the_snapshot_left_out_and_why(planted: tuple[TmpRepo, dict[str, str]]) -> None:
    tmp_repo, _ = planted
    finished = next(r for r in runs_json(cwd=tmp_repo.root) if r["status"] == "finished")

    skipped = dict(show_json(finished["id"], cwd=tmp_repo.root)["run"]["snapshot_skipped"])
    snapshot = tmp_repo.git("ls-tree", "-r", "--name-only", f"refs/ledger/runs/{finished['id']}").split("\n")
    credentials = [".npmrc", "kaggle.json", ".aws/credentials", "secrets.json", ".docker/config.json"]
    credentials += [".git-credentials", ".env"]
    scanned = ["conf/config.local.yaml", "keys/trainer-sa.json", "notes.txt", "params.yaml"]
    assert not set(snapshot) & {*credentials, *scanned}
    assert {p: skipped[p].split(":")[0] for p in credentials} == dict.fromkeys(credentials, "credential file")
    assert skipped["conf/config.local.yaml"] == "holds a secret (value of 'password')"
    assert skipped["keys/trainer-sa.json"] == "holds a secret (service-account key)"
    assert skipped["notes.txt"] == "holds a secret (GitHub token)"
    text = ledger("show", finished["id"], cwd=tmp_repo.root).stdout
    assert any(
        line.split() == ["skipped", "notes.txt:", "holds", "a", "secret", "(GitHub", "token)"]
        for line in text.splitlines()
    )
