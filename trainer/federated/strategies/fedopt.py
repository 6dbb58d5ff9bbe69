"""The FedOpt family's shared server step (FedAdam, FedYogi, FedAdagrad).

Reddi et al. 2021, "Adaptive Federated Optimization" (ICLR), Algorithm 2. With x_t the global
parameters and Delta_t the clients' mean change (sample-weighted here, as FedAvg weighs them;
with equal counts it is the paper's plain mean):
    m_t = beta1 m_{t-1} + (1 - beta1) Delta_t,   m_{-1} = 0
    v_t = (the subclass's second-moment rule),    v_{-1} = tau^2
    x_{t+1} = x_t + eta m_t / (sqrt(v_t) + tau)
The paper applies no bias correction, and neither do we."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from trainer.federated.strategies.base import MeanStrategy


class FedOpt(MeanStrategy):
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__(cfg)
        self.eta = float(cfg["serverLr"])
        self.beta1 = float(cfg["beta1"])
        self.beta2 = float(cfg.get("beta2", 0.0))  # FedAdagrad has no beta2
        self.tau = float(cfg["tau"])
        self.m: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def second_moment(self, v: torch.Tensor, delta_sq: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def step(self, global_params: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        x = global_params.to(torch.float64)
        delta = mean - x
        if self.m is None or self.v is None:
            self.m = torch.zeros_like(x)
            self.v = torch.full_like(x, self.tau**2)
        self.m = self.beta1 * self.m + (1 - self.beta1) * delta
        self.v = self.second_moment(self.v, delta * delta)
        return x + self.eta * self.m / (self.v.sqrt() + self.tau)

    def state_dict(self) -> dict[str, Any]:
        return {"m": self.m, "v": self.v}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.m, self.v = state["m"], state["v"]
