"""FedAvg: the sample-weighted mean of the clients' models.

McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks from Decentralized
Data" (AISTATS), Algorithm 1: w_{t+1} = sum_k (n_k / n) w^k_{t+1}."""

from __future__ import annotations

import torch

from trainer.federated.strategies.base import Strategy, weighted_mean


class FedAvg(Strategy):
    def aggregate(
        self, global_params: torch.Tensor, clients: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        return weighted_mean(clients, weights)
