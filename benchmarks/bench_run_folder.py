"""What finding the run's own folders and reading their configs adds to the end of a run.

A Lightning-Hydra style run folder (`logs/train/runs/<time>/`: Hydra's `.hydra/`, a
CSV logger's `hparams.yaml`, many checkpoint and image files) beside an earlier run's,
measured in this process against the output walk every run already pays
(`ledger.capture.outputs.scan_outputs`), median of alternating repeats.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import _common as c

from ledger.capture.outputs import scan_outputs
from ledger.capture.params import params_from
from ledger.capture.run_folder import own_folders

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

GOAL_SECONDS = 0.05
"""What the config reading may add to a run's end."""

CONFIG = "".join(f"group{g}:\n" + "".join(f"  key{k}: {k * 0.001}\n" for k in range(20)) for g in range(25))
"""A composed config of 500 values, as a large Hydra project has."""


def make_folders(root: Path, files: int) -> str:
    """An earlier run's folder and this run's; returns this run's folder."""
    for stamp, age in (("2026-01-01_09-00-00", 3600.0), ("2026-01-01_10-00-00", 0.0)):
        run = root / "logs" / "train" / "runs" / stamp
        for sub in (".hydra", "csv/version_0", "checkpoints", "images"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        (run / ".hydra" / "config.yaml").write_text(CONFIG)
        (run / ".hydra" / "overrides.yaml").write_text("- group1.key1=0.001\n")
        (run / "csv" / "version_0" / "hparams.yaml").write_text("lr: 0.001\nbatch_size: 64\n")
        for i in range(files):
            sub = "checkpoints" if i % 10 == 0 else "images"
            (run / sub / f"f{i:05d}.bin").write_bytes(b"x")
        if age:
            then = time.time() - age
            for path in [run, *run.rglob("*")]:
                os.utime(path, (then, then))
    return "logs/train/runs/2026-01-01_10-00-00"


def main(argv: Sequence[str] | None = None) -> int:
    """Time the walk alone and the walk plus `own_folders`, alternately."""
    opts = c.parse_args(__doc__ or "", argv)
    files, repeats = (500, 3) if opts.quick else (5000, 9)
    root = c.work_dir("run_folder")
    since = time.time() - 60
    mine = make_folders(root, files)
    argv_params = params_from({"group1.key1": 0.001}, "argv")
    c.say(c.machine())
    c.say(f"two run folders of {files:,} files each, a 500-value Hydra config; median of {repeats}")

    def walk() -> float:
        start = time.perf_counter()
        scan_outputs(root, ("*.ckpt",), since)
        return time.perf_counter() - start

    def walk_and_configs() -> float:
        start = time.perf_counter()
        scan = scan_outputs(root, ("*.ckpt",), since)
        found = own_folders(root, scan.folders, scan.files, argv_params)
        took = time.perf_counter() - start
        assert found.folders == [mine], found.folders
        return took

    times = c.alternate({"walk": walk, "walk + configs": walk_and_configs}, repeats)
    base, total = c.median(times["walk"]), c.median(times["walk + configs"])
    added = total - base
    c.table(
        "end of run: output walk, then the run's folders and their configs",
        ["case", "median", "vs walk", "goal"],
        [
            ["output walk (baseline)", c.seconds(base), c.ratio(1.0), "-"],
            ["walk + own folders + configs", c.seconds(total), c.ratio(total / base), "-"],
            [
                "added by configs",
                c.seconds(added),
                c.ratio(added / base),
                f"< {GOAL_SECONDS} s {c.verdict(added < GOAL_SECONDS)}",
            ],
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
