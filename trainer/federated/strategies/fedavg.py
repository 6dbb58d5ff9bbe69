"""FedAvg: the sample-weighted mean of the clients' models.

McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks from Decentralized
Data" (AISTATS), Algorithm 1: w_{t+1} = sum_k (n_k / n) w^k_{t+1}."""

from __future__ import annotations

import torch

from trainer.federated.strategies.base import MeanStrategy


class FedAvg(MeanStrategy):
    def step(self, global_params: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        return mean
