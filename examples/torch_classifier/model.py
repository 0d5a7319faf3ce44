"""The classifier and the data loading the stages share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

PREPARED = Path("data/prepared")


def make_model(hidden: int, *, inputs: int = 2, classes: int = 3) -> nn.Module:
    """A two-hidden-layer MLP: enough to unroll the spiral."""
    return nn.Sequential(
        nn.Linear(inputs, hidden),
        nn.Tanh(),
        nn.Linear(hidden, hidden),
        nn.Tanh(),
        nn.Linear(hidden, classes),
    )


def load_split(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and labels of one split written by `prepare`."""
    x = torch.from_numpy(np.load(PREPARED / f"{name}_x.npy"))
    y = torch.from_numpy(np.load(PREPARED / f"{name}_y.npy"))
    return x, y


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy."""
    model.eval()
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y).item()
    accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, accuracy
