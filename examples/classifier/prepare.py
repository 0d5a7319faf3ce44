"""Generate the two-moons dataset into data/raw/ deterministically from a seed."""

from __future__ import annotations

import argparse
import csv
import math
import random
from pathlib import Path

OUT = Path("data/raw")


def moons(n: int, *, noise: float, rng: random.Random) -> list[tuple[float, float, int]]:
    """Two interleaved half circles: not linearly separable, so the hidden layer matters."""
    rows = []
    for _ in range(n):
        label = rng.randrange(2)
        t = rng.uniform(0.0, math.pi)
        if label == 0:
            x, y = math.cos(t), math.sin(t)
        else:
            x, y = 1.0 - math.cos(t), 0.5 - math.sin(t)
        rows.append((x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise), label))
    return rows


def write_csv(path: Path, rows: list[tuple[float, float, int]]) -> None:
    """Fixed float formatting, so the same seed gives byte-identical files (and DVC hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["x1", "x2", "label"])
        writer.writerows((f"{x:.6f}", f"{y:.6f}", label) for x, y, label in rows)


def main(argv: list[str] | None = None) -> int:
    """Write train.csv and test.csv from one seeded generator."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--n-train", type=int, default=1500)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--noise", type=float, default=0.2)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    write_csv(OUT / "train.csv", moons(args.n_train, noise=args.noise, rng=rng))
    write_csv(OUT / "test.csv", moons(args.n_test, noise=args.noise, rng=rng))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
