"""A torch module that fails on its second batch (resource and failure tests)."""

from __future__ import annotations

import torch


class RaisesMidway(torch.nn.Module):
    """Linear scores for one batch, then a RuntimeError."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Score a batch; raise on the second call."""
        self.calls += 1
        if self.calls >= 2:
            raise RuntimeError("simulated failure in the middle of inference")
        return torch.sigmoid(self.linear(x)).squeeze(-1)
