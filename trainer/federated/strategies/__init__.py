"""The registry of aggregation strategies named by federated.strategy.name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fltkc.contract import catalog
from trainer.federated.strategies.base import MeanStrategy, Strategy
from trainer.federated.strategies.fedadagrad import FedAdagrad
from trainer.federated.strategies.fedadam import FedAdam
from trainer.federated.strategies.fedavg import FedAvg
from trainer.federated.strategies.fedmedian import FedMedian
from trainer.federated.strategies.fedprox import FedProx
from trainer.federated.strategies.fedtrimmedavg import FedTrimmedAvg
from trainer.federated.strategies.fedyogi import FedYogi
from trainer.optim import lookup, with_defaults

STRATEGIES: dict[str, Callable[[Mapping[str, Any]], Strategy]] = {
    "fedavg": FedAvg,
    "fedprox": FedProx,
    "fedadam": FedAdam,
    "fedyogi": FedYogi,
    "fedadagrad": FedAdagrad,
    "fedmedian": FedMedian,
    "fedtrimmedavg": FedTrimmedAvg,
}


def build_strategy(cfg: Mapping[str, Any]) -> Strategy:
    return lookup(STRATEGIES, cfg["name"], "strategy")(with_defaults(cfg, catalog.STRATEGIES))


__all__ = ["STRATEGIES", "MeanStrategy", "Strategy", "build_strategy"]
