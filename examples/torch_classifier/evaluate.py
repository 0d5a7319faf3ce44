"""Stage `evaluate`: score models/model.pt on the test split into metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml
from model import evaluate, load_split, make_model


def main() -> int:
    """Full-precision values: a reproduction is compared bit for bit."""
    params = yaml.safe_load(Path("params.yaml").read_text())["train"]
    model = make_model(params["hidden"])
    model.load_state_dict(torch.load("models/model.pt", weights_only=True))
    test_loss, test_acc = evaluate(model, *load_split("test"))
    Path("metrics.json").write_text(
        json.dumps({"test_loss": test_loss, "test_acc": test_acc}, indent=2) + "\n"
    )
    print(f"test_acc {test_acc:.4f}  test_loss {test_loss:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
