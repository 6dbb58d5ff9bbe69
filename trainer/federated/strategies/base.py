"""The strategy interfaces: a rule over the clients' vectors, or a step from their weighted mean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch


def weighted_mean(stacked: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum_k w_k x_k / sum_k w_k over the first dimension, accumulated in float64.

    Row by row into one float64 buffer: a float64 copy of the whole (k, n) stack would cost
    k times the model's size in memory and time."""
    total = torch.zeros(stacked.shape[1:], dtype=torch.float64)
    for row, weight in zip(stacked, weights.tolist(), strict=True):
        total.add_(row, alpha=weight)
    return total / float(weights.sum())


class Strategy:
    """Turns the clients' trained parameter vectors into the next global parameters.

    `aggregate` receives the current global parameters (n,), the clients' parameters (k, n)
    and their sample counts (k,); it may keep server state (state_dict) across rounds.
    `proximal_mu` > 0 asks clients to add FedProx's proximal term."""

    proximal_mu: float = 0.0

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.cfg = dict(cfg)

    def aggregate(
        self, global_params: torch.Tensor, clients: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError

    def aggregate_buffers(self, clients: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """BatchNorm statistics and other float buffers: the sample-weighted mean."""
        return weighted_mean(clients, weights)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Stateless strategies have nothing to restore."""


class MeanStrategy(Strategy):
    """A strategy that sees the clients only through their sample-weighted mean (float64).

    Executors can then send one partial sum each instead of one vector per client
    (trainer/federated/aggregate.py, `Partial`); `aggregate` gives the same step from the
    clients' vectors."""

    def step(self, global_params: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def aggregate(
        self, global_params: torch.Tensor, clients: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        return self.step(global_params, weighted_mean(clients, weights))
