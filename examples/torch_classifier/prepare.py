"""Stage `prepare`: shuffle and split data/raw/, standardise, write data/prepared/*.npy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

RAW = Path("data/raw/points.csv")
OUT = Path("data/prepared")


def main() -> int:
    """Split by `prepare` params; `.npy` files, unlike `.npz`, carry no timestamp: same bytes every run."""
    params = yaml.safe_load(Path("params.yaml").read_text())["prepare"]
    data = np.loadtxt(RAW, delimiter=",", skiprows=1)
    rng = np.random.default_rng(params["seed"])
    data = data[rng.permutation(len(data))]
    n_test = int(len(data) * params["test_fraction"])
    n_val = int(len(data) * params["val_fraction"])
    splits = {"test": data[:n_test], "val": data[n_test : n_test + n_val], "train": data[n_test + n_val :]}
    mean, std = splits["train"][:, :2].mean(axis=0), splits["train"][:, :2].std(axis=0)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rows in splits.items():
        np.save(OUT / f"{name}_x.npy", ((rows[:, :2] - mean) / std).astype(np.float32))
        np.save(OUT / f"{name}_y.npy", rows[:, 2].astype(np.int64))
    print(f"prepared {', '.join(f'{k} {len(v)}' for k, v in splits.items())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
