"""Train a one-hidden-layer MLP on data/raw/ by SGD (stdlib only) and log to the ledger."""

from __future__ import annotations

import csv
import json
import math
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

Sample = tuple[list[float], int]


def _optional_ledger() -> ModuleType | None:
    """The script must also run where exp-ledger is not installed: then it logs nothing."""
    try:
        import ledger
    except ImportError:
        return None
    return ledger


def read_params(path: Path) -> dict[str, Any]:
    """Read flat `key: value` YAML; a full YAML parser would be a dependency for six lines."""
    params: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        key, sep, raw = text.partition(":")
        if not sep:
            raise SystemExit(f"{path}: expected 'key: value', got {line!r}")
        params[key.strip()] = _scalar(raw.strip())
    return params


def _scalar(raw: str) -> Any:
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(raw.lower(), raw)


def read_csv(path: Path) -> list[Sample]:
    """Rows of (features, label), label last."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [([float(v) for v in row[:-1]], int(row[-1])) for row in rows]


def standardize(train: list[Sample], *others: list[Sample]) -> None:
    """Scale features with the training split's mean and std only (no peeking at test)."""
    n_features = len(train[0][0])
    for j in range(n_features):
        column = [x[j] for x, _ in train]
        mean = sum(column) / len(column)
        std = math.sqrt(sum((v - mean) ** 2 for v in column) / len(column)) or 1.0
        for split in (train, *others):
            for x, _ in split:
                x[j] = (x[j] - mean) / std


class MLP:
    """x -> tanh(W1 x + b1) -> sigmoid(w2 . h + b2): the smallest net that bends a boundary."""

    def __init__(self, n_in: int, hidden: int, rng: random.Random) -> None:
        scale = 1.0 / math.sqrt(n_in)
        self.w1 = [[rng.gauss(0.0, scale) for _ in range(n_in)] for _ in range(hidden)]
        self.b1 = [0.0] * hidden
        self.w2 = [rng.gauss(0.0, 1.0 / math.sqrt(hidden)) for _ in range(hidden)]
        self.b2 = 0.0

    def forward(self, x: list[float]) -> tuple[list[float], float]:
        """Hidden activations and the probability of class 1."""
        h = [
            math.tanh(sum(w * v for w, v in zip(row, x, strict=True)) + b)
            for row, b in zip(self.w1, self.b1, strict=True)
        ]
        z = sum(w * v for w, v in zip(self.w2, h, strict=True)) + self.b2
        return h, _sigmoid(z)

    def sgd_step(self, x: list[float], y: int, lr: float) -> None:
        """One step on the binary cross-entropy of one sample."""
        h, p = self.forward(x)
        dz = p - y
        for i, hi in enumerate(h):
            dh = dz * self.w2[i] * (1.0 - hi * hi)
            self.w2[i] -= lr * dz * hi
            self.b1[i] -= lr * dh
            row = self.w1[i]
            for j, xj in enumerate(x):
                row[j] -= lr * dh * xj
        self.b2 -= lr * dz

    def evaluate(self, data: list[Sample]) -> tuple[float, float]:
        """Mean cross-entropy and accuracy."""
        loss = 0.0
        correct = 0
        for x, y in data:
            p = min(max(self.forward(x)[1], 1e-12), 1.0 - 1e-12)
            loss -= math.log(p) if y else math.log(1.0 - p)
            correct += (p >= 0.5) == bool(y)
        return loss / len(data), correct / len(data)


def _sigmoid(z: float) -> float:
    """Written both ways round so a large |z| never overflows math.exp."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def say(message: str) -> None:
    """Progress goes to stdout, where `ledger run` captures it for `ledger log`."""
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Train with params.yaml, log every epoch, write metrics.json and the model."""
    del argv  # everything comes from params.yaml, so the ledger's params are the whole story
    params = read_params(Path("params.yaml"))
    rng = random.Random(params["seed"])
    samples = read_csv(Path("data/raw/train.csv"))
    test = read_csv(Path("data/raw/test.csv"))
    rng.shuffle(samples)
    n_val = int(len(samples) * params["val_fraction"])
    val, train = samples[:n_val], samples[n_val:]
    standardize(train, val, test)

    tracker = _optional_ledger()
    if tracker is not None:
        tracker.log_params({"model": "mlp", "n_train": len(train), "n_val": len(val), "n_test": len(test)})

    model = MLP(len(train[0][0]), params["hidden"], rng)
    epochs = params["epochs"]
    every = max(1, epochs // 5)
    for epoch in range(1, epochs + 1):
        rng.shuffle(train)
        for x, y in train:
            model.sgd_step(x, y, params["lr"])
        loss, acc = model.evaluate(train)
        val_loss, val_acc = model.evaluate(val)
        if tracker is not None:
            tracker.log_metrics(
                {"loss": loss, "acc": acc, "val_loss": val_loss, "val_acc": val_acc}, step=epoch
            )
        if epoch % every == 0 or epoch == epochs:
            train_part = f"loss {loss:.4f}  acc {acc:.3f}"
            say(f"epoch {epoch:3d}  {train_part}  val_loss {val_loss:.4f}  val_acc {val_acc:.3f}")

    test_loss, test_acc = model.evaluate(test)
    metrics = {
        "loss": loss,
        "acc": acc,
        "val_loss": val_loss,
        "val_acc": val_acc,
        "test_loss": test_loss,
        "test_acc": test_acc,
    }
    Path("metrics.json").write_text(json.dumps({k: round(v, 4) for k, v in metrics.items()}, indent=2) + "\n")
    Path("models").mkdir(exist_ok=True)
    Path("models/model.json").write_text(json.dumps(vars(model)) + "\n")
    say(f"test_acc {test_acc:.3f}  (metrics.json, models/model.json written)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
