"""FedAdagrad: v_t = v_{t-1} + Delta_t^2.

Reddi et al. 2021, "Adaptive Federated Optimization" (ICLR), Algorithm 2 (FedAdagrad line)."""

from __future__ import annotations

import torch

from trainer.federated.strategies.fedopt import FedOpt


class FedAdagrad(FedOpt):
    def second_moment(self, v: torch.Tensor, delta_sq: torch.Tensor) -> torch.Tensor:
        return v + delta_sq
