"""The pieces of `ledger reproduce` on their own: DVC config for the worktree, cache checks,
command rewriting, the seeds hand-over, and `ledger.torch`."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.capture.seeds import SEEDS_ENV, reproduction_seeds, seed_environment
from ledger.dvc.cache import in_cache
from ledger.dvc.files import DataRef
from ledger.reproduce.plan import _with_python, _without_run_cache
from ledger.reproduce.restore import dvc_setup, is_dvc_file

pytestmark = pytest.mark.integration


def test_reproduce_module_imports_only_the_standard_library() -> None:
    """`ledger.cli.main` imports it: the hooks' fast path must not pay for the reproduction."""
    probe = "import sys, ledger.reproduce.command; print(' '.join(sorted(m for m in sys.modules if m.startswith('ledger'))))"

    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert out.split() == [
        "ledger",
        "ledger.core",
        "ledger.core.version",
        "ledger.reproduce",
        "ledger.reproduce.command",
    ]


def test_worktree_dvc_config_has_absolute_cache_and_remote_paths(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".dvc").mkdir(parents=True)
    (root / ".dvc" / "config.local").write_text(
        "[core]\n    remote = mine\n['remote \"mine\"']\n    url = ../../store\n"
    )
    snapshot = {".dvc/config": b"[core]\n    remote = team\n['remote \"team\"']\n    url = s3://bucket/x\n"}

    setup = dvc_setup(root, snapshot)

    assert setup.cache_dir == root / ".dvc" / "cache"
    assert setup.remote == "mine"
    assert setup.remote_url == str((tmp_path / "store").resolve())
    assert f"    dir = {root / '.dvc' / 'cache'}" in setup.local_config
    assert "['remote \"mine\"']" in setup.local_config
    assert "s3://bucket/x" not in setup.local_config  # a URL needs no rewriting


def test_worktree_dvc_config_follows_a_configured_cache_dir(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".dvc").mkdir(parents=True)
    (root / ".dvc" / "config").write_text("[cache]\n    dir = ../shared-cache\n")

    setup = dvc_setup(root, {})

    assert setup.cache_dir == (root / "shared-cache").resolve()
    assert setup.remote is None


def test_in_cache_needs_a_directory_manifest_and_every_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    files = {"a": b"alpha", "b": b"beta"}
    entries = []
    for name, content in files.items():
        md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
        entries.append({"md5": md5, "relpath": name})
        (cache / "files" / "md5" / md5[:2]).mkdir(parents=True, exist_ok=True)
        (cache / "files" / "md5" / md5[:2] / md5[2:]).write_bytes(content)
    manifest = "0123456789abcdef0123456789abcdef.dir"
    (cache / "files" / "md5" / "01").mkdir(parents=True, exist_ok=True)
    (cache / "files" / "md5" / "01" / manifest[2:]).write_text(json.dumps(entries))
    ref = DataRef("data", "md5", manifest, None, 2, "data.dvc", None, "out")

    assert in_cache(cache, ref)
    (cache / "files" / "md5" / entries[1]["md5"][:2] / entries[1]["md5"][2:]).unlink()
    assert not in_cache(cache, ref)
    assert not in_cache(cache, DataRef("x", "md5", "f" * 32, 1, None, "x.dvc", None, "out"))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("dvc.lock", True),
        ("sub/dvc.yaml", True),
        ("data/raw.dvc", True),
        (".dvc/config", True),
        ("train.py", False),
    ],
    ids=str,
)
def test_is_dvc_file(path: str, expected: bool) -> None:
    assert is_dvc_file(path) is expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("dvc", "repro"), ("dvc", "repro", "--no-run-cache")),
        (("/venv/bin/dvc", "repro", "train"), ("/venv/bin/dvc", "repro", "train", "--no-run-cache")),
        (("dvc", "repro", "--no-run-cache"), ("dvc", "repro", "--no-run-cache")),
        (("dvc", "exp", "run"), ("dvc", "exp", "run")),
        (("python", "train.py"), ("python", "train.py")),
    ],
    ids=["repro", "repro-target", "already", "exp-run", "python"],
)
def test_dvc_repro_runs_its_stages(argv: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert _without_run_cache(argv)[0] == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("python", "t.py"), ("/env/bin/python", "t.py")),
        (("/usr/bin/python3.11", "-m", "x"), ("/env/bin/python", "-m", "x")),
        (("dvc", "repro"), ("dvc", "repro")),
        (("pythonic", "x"), ("pythonic", "x")),
    ],
    ids=["bare", "absolute", "other-program", "lookalike"],
)
def test_rebuilt_env_takes_over_the_interpreter(argv: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert _with_python(argv, Path("/env/bin/python")) == expected


def test_seeds_go_back_as_json_and_as_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    env = seed_environment({"PYTHONHASHSEED": "123", "seed": 7})

    assert env["PYTHONHASHSEED"] == "123"
    assert "seed" not in env
    monkeypatch.setenv(SEEDS_ENV, env[SEEDS_ENV])
    assert reproduction_seeds() == {"PYTHONHASHSEED": "123", "seed": 7}
    monkeypatch.setenv(SEEDS_ENV, "not json")
    assert reproduction_seeds() == {}
    assert seed_environment({}) == {}


def test_torch_seed_everything_prefers_the_recorded_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    import ledger.torch as lt

    assert lt.seed_everything(5, record=False) == 5
    first = torch.rand(3)
    monkeypatch.setenv(SEEDS_ENV, json.dumps({"seed": 5}))
    assert lt.seed_everything(99, record=False) == 5
    assert torch.equal(torch.rand(3), first)
    assert torch.are_deterministic_algorithms_enabled()
    described = lt.describe()
    assert described["version"] == torch.__version__
    assert described["device"] in (
        "cpu",
        torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
    )
    torch.use_deterministic_algorithms(False)


def test_checkout_names_dvc_files_and_whole_stages_never_bare_paths() -> None:
    from ledger.dvc.files import DataRef
    from ledger.reproduce.restore import DataRestore, checkout_targets

    def item(path: str, source: str, stage: str | None) -> DataRestore:
        ref = DataRef(path, "md5", "a" * 32, 1, None, source, stage, "out")
        return DataRestore(ref, ref.value, in_cache=True)

    raw = item("data/raw", "data/raw.dvc", None)
    model = item("models/m.pt", "dvc.lock", "train")
    report = item("reports/r.json", "dvc.lock", "train")
    nested = item("sub/out.bin", "sub/dvc.lock", "make")
    everything = [raw, model, report, nested]

    assert checkout_targets(everything, everything) == ["data/raw.dvc", "train", "sub/dvc.yaml:make"]
    # A stage with an output that cannot be restored is named output by output.
    assert checkout_targets([raw, model], everything) == ["data/raw.dvc", "models/m.pt"]


def test_metrics_named_after_an_event_file_compare_across_runs() -> None:
    """Lightning's fit and test event files both hold `epoch`: the files' time, host and
    pid differ in every run, so they are named by their order in the run."""
    from ledger.core.comparable import comparable_keys

    folder = "<run folder>/tensorboard/version_0"
    first = {
        f"{folder}/events.out.tfevents.1796534515.vm.32645.0:epoch": 2.0,
        f"{folder}/events.out.tfevents.1796534516.vm.32645.1:epoch": 3.0,
        "loss": 1.0,
    }
    again = {
        f"{folder}/events.out.tfevents.1796534540.vm.555.1:epoch": 3.0,
        f"{folder}/events.out.tfevents.1796534539.vm.555.0:epoch": 2.0,
        "loss": 1.0,
    }

    assert (
        comparable_keys(first, [])
        == comparable_keys(again, [])
        == {
            f"{folder}/events.out.tfevents.#1:epoch": 2.0,
            f"{folder}/events.out.tfevents.#2:epoch": 3.0,
            "loss": 1.0,
        }
    )
