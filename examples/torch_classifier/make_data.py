"""Generate the three-arm spiral data set into data/raw/points.csv (then `dvc add data/raw`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

OUT = Path("data/raw/points.csv")


def spiral(n_per_class: int, *, classes: int, noise: float, seed: int) -> np.ndarray:
    """Rows of (x1, x2, label): interleaved arms no straight line separates."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in range(classes):
        t = np.linspace(0.05, 1.0, n_per_class)
        theta = label * 2 * np.pi / classes + 4.0 * t + rng.normal(0.0, noise, n_per_class)
        rows.append(np.stack([t * np.sin(theta), t * np.cos(theta), np.full(n_per_class, label)], axis=1))
    return np.concatenate(rows)


def main(argv: list[str] | None = None) -> int:
    """Write the CSV with fixed formatting: the same seed gives the same bytes (and DVC hash)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-class", type=int, default=500)
    parser.add_argument("--noise", type=float, default=0.45)
    args = parser.parse_args(argv)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    data = spiral(args.per_class, classes=3, noise=args.noise, seed=args.seed)
    np.savetxt(OUT, data, fmt=["%.6f", "%.6f", "%d"], delimiter=",", header="x1,x2,label", comments="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
