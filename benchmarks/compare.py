"""exp-ledger against MLflow (SQLite backend), DVC experiments and plain sqlite3.

The workloads against MLflow and DVC, alternated between systems in one run, several times
each; medians and ratios are printed as they come and written to
`benchmarks/RESULTS.md`. MLflow is optional (`pip install mlflow`): without it, its
cases are reported as not measured. Nothing is downloaded at run time.

    python benchmarks/compare.py            # the published figures (~10 min on 2 cores)
    python benchmarks/compare.py --large    # 10,000 runs in the run-creation workload
    python benchmarks/compare.py --smoke    # tiny sizes, one repetition, no warm-up (the test's)

The smoke size forks its cases from one process that imported the libraries (see
`compare_child.py`); its figures are not read, only its report's shape.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _common as c
import compare_report as rep
import compare_workloads as w
from compare_storage import copy_db

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SERVER_PRELOAD = (
    "ledger.api",
    "ledger.core.filters",
    "ledger.read.queries",
    "ledger.store.engine",
    "ledger.store.writes",
)
"""What the cases import from exp-ledger, loaded once by the smoke size's child server."""
MLFLOW_PRELOAD = ("mlflow", "mlflow.entities", "mlflow.tracking")
"""The same for MLflow, when it is measured."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run every workload, print the tables, write the Markdown report."""
    args = list(sys.argv[1:] if argv is None else argv)
    opts = _parser().parse_args(args)
    sizes = _sizes(opts)
    command = " ".join(["python benchmarks/compare.py", *(shlex.quote(a) for a in args)])
    mlflow = not opts.no_mlflow and importlib.util.find_spec("mlflow") is not None
    dvc = not opts.no_dvc and (c.BIN / "dvc").is_file()
    report = rep.Report(header=rep.machine_lines(command))
    for line in report.header:
        c.say(line.removeprefix("- "))
    c.say(
        f"peers: MLflow {'yes' if mlflow else 'no (not installed, or --no-mlflow)'}, "
        f"DVC {'yes' if dvc else 'no (not installed, or --no-dvc)'}"
    )
    started = time.perf_counter()
    work = Path(opts.work).resolve() if opts.work else c.WORK / "compare"
    bench = Bench(work, mlflow=mlflow, dvc=dvc, fork=opts.smoke)
    try:
        w.run_all(bench, report, sizes)
    finally:
        bench.close()
    one, five, _ = os.getloadavg()
    report.header.append(f"- load average at the end: {one:.2f} / {five:.2f} (1 / 5 min)")
    report.header.append(f"- wall time of the whole comparison: {time.perf_counter() - started:.0f} s")
    report.print_goals()
    out = opts.out or (None if opts.smoke else str(RESULTS))
    if out:
        rep.write(report, Path(out), command)
        c.say(f"\nwrote {out}")
    return 0


class Bench:
    """Scratch space, template databases, and the runner of child processes."""

    def __init__(self, work: Path, *, mlflow: bool, dvc: bool, fork: bool) -> None:
        """`fork`: children forked by one `compare_child.py --serve`, not started one by one."""
        self.mlflow = mlflow
        self.dvc = dvc
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        self.work = work
        self.env = c.bench_env(work / "home", {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"})
        self.repo = c.make_repo(work / "api-repo", env=self.env, files=20)
        """The git repo the API cases run in (both APIs record git context)."""
        self._server = self._serve(mlflow=mlflow) if fork else None
        self.templates = {
            "exp-ledger": work / "template-ledger.db",
            "sqlite3": work / "template-sqlite.db",
            "MLflow": work / "template-mlflow.db",
        }
        spec: dict[str, Any] = {
            "ours": str(self.templates["exp-ledger"]),
            "sqlite": str(self.templates["sqlite3"]),
        }
        if mlflow:
            spec["mlflow"] = str(self.templates["MLflow"])
            spec["artifacts"] = (work / "mlflow-artifacts").as_uri()
        self.child("prepare", spec)

    def fresh_db(self, system: str, name: str, base: Path | None = None) -> Path:
        """A copy of the system's empty template (or of `base`) for one case to write."""
        return copy_db(base or self.templates[system], self.work / f"{name}.db")

    def child(self, case: str, spec: Mapping[str, Any], *, ledger_db: Path | None = None) -> dict[str, Any]:
        """Run one case in a fresh interpreter, in the API repo; its JSON result."""
        out = self.work / "child.json"
        out.unlink(missing_ok=True)
        env = dict(self.env)
        if ledger_db is not None:
            env["LEDGER_URL"] = f"sqlite:///{ledger_db}"
        args = [case, json.dumps(spec), str(out)]
        if self._server is None:
            c.run_timed([c.PYTHON, str(HERE / "compare_child.py"), *args], cwd=self.repo, env=env)
        else:
            assert self._server.stdin is not None
            assert self._server.stdout is not None
            self._server.stdin.write(json.dumps({"argv": args, "cwd": str(self.repo), "env": env}) + "\n")
            self._server.stdin.flush()
            code = int(self._server.stdout.readline() or "-1")
            if code != 0:
                raise RuntimeError(f"case {case} exited {code} (its traceback is on stderr above)")
        result: dict[str, Any] = json.loads(out.read_text())
        return result

    def close(self) -> None:
        """End the child server, if one runs."""
        if self._server is not None:
            assert self._server.stdin is not None
            self._server.stdin.close()
            self._server.wait(timeout=60)

    def _serve(self, *, mlflow: bool) -> subprocess.Popen[str]:
        """`compare_child.py --serve`, with the modules every case imports loaded once."""
        modules = [*SERVER_PRELOAD, *(MLFLOW_PRELOAD if mlflow else ())]
        return subprocess.Popen(
            [c.PYTHON, str(HERE / "compare_child.py"), "--serve", *modules],
            cwd=self.repo,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )


def _sizes(opts: argparse.Namespace) -> w.Sizes:
    if opts.smoke:
        sizes = w.Sizes(
            steps=20,
            runs=20,
            api_runs=2,
            repeats=1,
            read_iters=2,
            cli_repeats=1,
            experiments=(2,),
            warm_up=False,
        )
    else:
        sizes = w.Sizes(
            steps=1_000,
            runs=10_000 if opts.large else 1_000,
            api_runs=20,
            repeats=1 if opts.large else 5,
            read_iters=30,
            cli_repeats=5,
            experiments=(20, 100),
            warm_up=True,
        )
    if opts.repeats:
        sizes = dataclasses.replace(sizes, repeats=opts.repeats, cli_repeats=opts.repeats)
    return sizes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--smoke", action="store_true", help="tiny sizes, one repetition, no warm-up; writes no report"
    )
    size.add_argument("--large", action="store_true", help="10,000 runs in the run-creation workload")
    parser.add_argument("--repeats", type=int, help="repetitions of the write and command workloads")
    parser.add_argument("--no-mlflow", action="store_true", help="leave MLflow out even if installed")
    parser.add_argument("--no-dvc", action="store_true", help="leave DVC out")
    parser.add_argument("--out", help=f"where to write the Markdown report (default {RESULTS.name})")
    parser.add_argument("--work", help="scratch folder, emptied first (default benchmarks/.work/compare)")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
