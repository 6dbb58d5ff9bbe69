"""FedYogi: v_t = v_{t-1} - (1 - beta2) Delta_t^2 sign(v_{t-1} - Delta_t^2).

Reddi et al. 2021, "Adaptive Federated Optimization" (ICLR), Algorithm 2 (FedYogi line),
after Zaheer et al. 2018's Yogi."""

from __future__ import annotations

import torch

from trainer.federated.strategies.fedopt import FedOpt


class FedYogi(FedOpt):
    def second_moment(self, v: torch.Tensor, delta_sq: torch.Tensor) -> torch.Tensor:
        return v - (1 - self.beta2) * delta_sq * torch.sign(v - delta_sq)
