"""FedProx: FedAvg's aggregation, with clients minimising a proximal objective.

Li et al. 2020, "Federated Optimization in Heterogeneous Networks" (MLSys), Algorithm 2:
each client minimises F_k(w) + (mu / 2) ||w - w^t||^2 around the round's global model w^t;
the server averages as FedAvg does. The term is added by the client (trainer/federated/
client.py) when `proximal_mu` is above zero."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trainer.federated.strategies.fedavg import FedAvg


class FedProx(FedAvg):
    def __init__(self, cfg: Mapping[str, Any]) -> None:
        super().__init__(cfg)
        self.proximal_mu = float(cfg["mu"])
