"""FedMedian: the coordinate-wise median of the clients' models, unweighted.

Yin et al. 2018, "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates"
(ICML), Option I (median-based gradient descent), applied to models as Flower's FedMedian
does. With an even number of clients the median is the mean of the two middle values."""

from __future__ import annotations

import torch

from trainer.federated.strategies.base import Strategy


def coordinate_median(stacked: torch.Tensor) -> torch.Tensor:
    ordered = stacked.to(torch.float64).sort(dim=0).values
    k = ordered.shape[0]
    return (ordered[(k - 1) // 2] + ordered[k // 2]) / 2


class FedMedian(Strategy):
    def aggregate(
        self, global_params: torch.Tensor, clients: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        return coordinate_median(clients)

    def aggregate_buffers(self, clients: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return coordinate_median(clients)
