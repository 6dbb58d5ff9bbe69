"""FedAdam: v_t = beta2 v_{t-1} + (1 - beta2) Delta_t^2.

Reddi et al. 2021, "Adaptive Federated Optimization" (ICLR), Algorithm 2 (FedAdam line)."""

from __future__ import annotations

import torch

from trainer.federated.strategies.fedopt import FedOpt


class FedAdam(FedOpt):
    def second_moment(self, v: torch.Tensor, delta_sq: torch.Tensor) -> torch.Tensor:
        return self.beta2 * v + (1 - self.beta2) * delta_sq
