"""The peer comparison (benchmarks/compare.py) and the capture-overhead benchmark run end
to end at their smoke sizes.

MLflow is optional: without it the comparison still passes and reports MLflow's
cases as not measured. DVC is a dependency, so its workloads always run.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPARE = ROOT / "benchmarks" / "compare.py"
SECTIONS = (
    "## 1. Logging",
    "## 2. Run creation",
    "## 3. Query",
    "## 4. Read one run",
    "## 7. Storage",
    "## 5. Capture overhead",
    "## 6. Listing",
)
HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None


@pytest.mark.slow
@pytest.mark.parametrize(
    "flags",
    [
        pytest.param([], id="installed-peers"),
        pytest.param(
            ["--no-mlflow"],
            id="no-mlflow",
            marks=pytest.mark.skipif(
                not HAS_MLFLOW, reason="mlflow is not installed: the other case covers it"
            ),
        ),
    ],
)
def test_compare_smoke(tmp_path: Path, flags: list[str]) -> None:
    out = tmp_path / "RESULTS.md"
    argv = [
        sys.executable,
        str(COMPARE),
        "--smoke",
        "--work",
        str(tmp_path / "work"),
        "--out",
        str(out),
        *flags,
    ]
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    report = out.read_text()
    for section in SECTIONS:
        assert section in report
    assert "All systems return the same" in report
    assert "return the same 0 runs" not in report
    with_mlflow = HAS_MLFLOW and not flags
    assert ("MlflowClient.search_runs" in report) is with_mlflow
    assert ("not measured" in report) is not with_mlflow


@pytest.mark.slow
def test_capture_overhead_benchmark_smoke() -> None:
    """A real DVC pipeline project, `ledger run` against the bare command; the figures are
    printed, not asserted (a shared machine's timings are no test)."""
    proc = _quick("bench_capture_overhead.py")
    assert "median(ledger run) - median(bare), wall" in proc.stdout
    # What the benchmark times is a whole capture: snapshot, data, params, metrics, outputs.
    assert re.search(r"data refs \(dvc.lock, \*.dvc\)\s+[1-9]", proc.stdout), proc.stdout
    assert re.search(r"outputs train.py wrote\s+[45] of 5", proc.stdout), proc.stdout
    assert re.search(r"capture problems\s+0\b", proc.stdout), proc.stdout


@pytest.mark.slow
def test_framework_logs_benchmark_smoke() -> None:
    """The readers read what the benchmark's run wrote; the figures are printed, not asserted."""
    proc = _quick("bench_framework_logs.py")
    assert "added by the readers:" in proc.stdout
    assert re.search(r"events \(training mix\)\s+0\.\d\d MB", proc.stdout), proc.stdout


@pytest.mark.slow
def test_commit_benchmark_smoke() -> None:
    """A bare commit, the ledger's hooks after `ledger init`, pre-commit's no-op floor: each
    commit timed and every result commit recorded; the figures are printed, not asserted."""
    proc = _quick("bench_commit.py", cwd=ROOT / "benchmarks")
    for case in ("bare commit", "exp-ledger hooks (ledger init)", "pre-commit floor (one no-op hook)"):
        assert re.search(rf"{re.escape(case)}\s+\d+\.\d+ s", proc.stdout), proc.stdout
    assert "exp-ledger above a bare commit:" in proc.stdout
    assert "runs the ledger recorded from the 2 result commits: 2" in proc.stdout


@pytest.mark.slow
def test_log_metrics_latency_benchmark_smoke() -> None:
    """Eight writers into one SQLite ledger, then into PostgreSQL through a proxy gone
    silent; the latencies are printed against a plain file append, not asserted."""
    proc = _quick("bench_log_metrics.py")
    assert re.search(r"append a JSON line to a file \(baseline\)\s+\d", proc.stdout), proc.stdout
    assert re.search(r"log_metrics, 8 writers, one SQLite ledger\s+\d", proc.stdout), proc.stdout
    assert "log_metrics, 8 writers, server goes silent" in proc.stdout
    assert "Traceback" not in proc.stderr


def _quick(script: str, *, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`python benchmarks/SCRIPT --quick`, which must succeed; its output to read."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc
