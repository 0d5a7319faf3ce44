"""One measurement in a fresh process: `compare_child.py CASE SPEC_JSON OUT_JSON`.

`compare.py` starts one of these per case and repetition, so no system pays for
another's imports, caches or garbage. At the smoke size, whose figures nobody reads,
it starts `compare_child.py --serve MODULE...` once instead: that process imports the
systems' libraries and forks a process per case, so each case still runs alone in a
process of its own, without paying an interpreter's and MLflow's start-up every time.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import compare_reads
import compare_writes

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO


def main(argv: Sequence[str] | None = None) -> int:
    """Run the case and write its result as JSON (or serve cases, with `--serve`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[0] == "--serve":
        return serve(args[1:], sys.stdin, sys.stdout)
    run(*args)
    return 0


def run(case: str, spec: str, out: str) -> None:
    """Run one case on its JSON spec; its JSON result to the file `out`."""
    cases = {**compare_writes.CASES, "reads": compare_reads.reads}
    result = cases[case](json.loads(spec))
    Path(out).write_text(json.dumps(result))


def serve(preload: Sequence[str], requests: TextIO, replies: TextIO) -> int:
    """Import `preload`, then fork a process per request line; reply with its exit code.

    A request is `{"argv": [CASE, SPEC_JSON, OUT_JSON], "cwd": ..., "env": {...}}`. The
    forked process takes the request's directory, environment and argv as a fresh one
    would, and returns from here to end as any process does (exit handlers included).
    """
    for name in preload:
        importlib.import_module(name)
    # Out of the collector's sight, the imported objects' pages stay shared with every fork:
    # without it, each process's collections and exit copy and walk all of them.
    gc.freeze()
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the replies are the server's
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            sys.argv = [__file__, *request["argv"]]
            run(*request["argv"])
            return 0
        _, status = os.waitpid(pid, 0)
        replies.write(f"{os.waitstatus_to_exitcode(status)}\n")
        replies.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
