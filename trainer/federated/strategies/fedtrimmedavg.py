"""FedTrimmedAvg: the coordinate-wise trimmed mean, unweighted.

Yin et al. 2018, "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates"
(ICML), Option II: per coordinate, drop the floor(beta k) largest and smallest of the k client
values and average the rest (beta = trimFraction < 1/2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from trainer.federated.strategies.base import Strategy


def trimmed_mean(stacked: torch.Tensor, fraction: float) -> torch.Tensor:
    ordered = stacked.to(torch.float64).sort(dim=0).values
    k = ordered.shape[0]
    cut = int(fraction * k)
    return ordered[cut : k - cut].mean(dim=0)


class FedTrimmedAvg(Strategy):
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__(cfg)
        self.fraction = float(cfg["trimFraction"])

    def aggregate(
        self, global_params: torch.Tensor, clients: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        return trimmed_mean(clients, self.fraction)

    def aggregate_buffers(self, clients: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return trimmed_mean(clients, self.fraction)
