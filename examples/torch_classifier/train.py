"""Stage `train`: fit the MLP deterministically, log every epoch to the ledger, save models/model.pt."""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from model import evaluate, load_split, make_model
from torch import nn

import ledger.torch as lt

CHECKPOINT = Path("models/model.pt")


def main() -> int:
    """Train with the `train` params; the ledger records seed, torch setup, metrics and checkpoint."""
    params = yaml.safe_load(Path("params.yaml").read_text())["train"]
    lt.seed_everything(params["seed"])  # under `ledger reproduce`, the recorded seed
    x, y = load_split("train")
    x_val, y_val = load_split("val")
    model = make_model(params["hidden"])
    optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
    size = params["batch_size"]
    for epoch in range(1, params["epochs"] + 1):
        model.train()
        order = torch.randperm(len(x))
        total = torch.zeros(())
        for start in range(0, len(x), size):
            batch = order[start : start + size]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(batch)
        val_loss, val_acc = evaluate(model, x_val, y_val)
        lt.log_metrics({"train_loss": total / len(x), "val_loss": val_loss, "val_acc": val_acc}, step=epoch)
        if epoch % 10 == 0 or epoch == params["epochs"]:
            print(
                f"epoch {epoch:3d}  train_loss {total.item() / len(x):.4f}  val_acc {val_acc:.3f}", flush=True
            )
    lt.save(model.state_dict(), CHECKPOINT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
