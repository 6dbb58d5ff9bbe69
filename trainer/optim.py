"""Registries of optimizers, learning-rate schedulers and losses named by the trainer config."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LRScheduler,
    StepLR,
)

from fltkc.contract import catalog

T = TypeVar("T")
Params = Iterable[torch.Tensor]


def lookup(registry: Mapping[str, T], name: str, what: str) -> T:
    """registry[name], or a ValueError that lists the valid names."""
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; valid names: {', '.join(registry)}") from None


def _betas(cfg: Mapping[str, Any]) -> tuple[float, float]:
    return float(cfg["betas"][0]), float(cfg["betas"][1])


# Each factory reads a block completed with the catalog's defaults (see the build functions).
OPTIMIZERS: dict[str, Callable[[Params, Mapping[str, Any]], Optimizer]] = {
    "sgd": lambda p, c: torch.optim.SGD(
        p,
        lr=c["lr"],
        momentum=c["momentum"],
        nesterov=c["nesterov"],
        weight_decay=c["weightDecay"],
    ),
    "adam": lambda p, c: torch.optim.Adam(
        p, lr=c["lr"], betas=_betas(c), weight_decay=c["weightDecay"]
    ),
    "adamw": lambda p, c: torch.optim.AdamW(
        p, lr=c["lr"], betas=_betas(c), weight_decay=c["weightDecay"]
    ),
}

SCHEDULERS: dict[str, Callable[[Optimizer, Mapping[str, Any]], LRScheduler]] = {
    "none": lambda o, c: LambdaLR(o, lambda _step: 1.0),
    "step": lambda o, c: StepLR(o, step_size=c["stepSize"], gamma=c["gamma"]),
    "exponential": lambda o, c: ExponentialLR(o, gamma=c["gamma"]),
    "cosine": lambda o, c: CosineAnnealingLR(o, T_max=c["tMax"], eta_min=c["minLr"]),
}

# Summed over samples: callers divide by the count, so batches of any size weigh the same.
# Reddit pads targets with -100, the default ignore_index of both losses.
LOSSES: dict[str, Callable[[], nn.Module]] = {
    "cross-entropy": lambda: nn.CrossEntropyLoss(reduction="sum"),
    "nll": lambda: nn.NLLLoss(reduction="sum"),
}


def with_defaults(
    cfg: Mapping[str, Any], choices: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """A choice's block over its catalog defaults: a loaded config is complete already, and a
    partial block (a test's, a benchmark's) gets the values a compiled config would carry."""
    known = choices.get(cfg["name"], {})
    return {**{k: v for k, v in known.items() if v is not catalog.STEPS}, **cfg}


def build_optimizer(params: Params, cfg: Mapping[str, Any]) -> Optimizer:
    factory = lookup(OPTIMIZERS, cfg["name"], "optimizer")
    return factory(params, with_defaults(cfg, catalog.OPTIMIZERS))


def build_scheduler(optimizer: Optimizer, cfg: Mapping[str, Any]) -> LRScheduler:
    factory = lookup(SCHEDULERS, cfg["name"], "scheduler")
    return factory(optimizer, with_defaults(cfg, catalog.SCHEDULERS))


def build_loss(name: str) -> nn.Module:
    return lookup(LOSSES, name, "loss")()


def current_lr(optimizer: Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


class LrSchedule:
    """A scheduler without a model: federated rounds drive the clients' learning rate with it."""

    def __init__(self, optimizer_cfg: Mapping[str, Any], scheduler_cfg: Mapping[str, Any]) -> None:
        self.optimizer = torch.optim.SGD(
            [torch.zeros(1, requires_grad=True)], lr=optimizer_cfg["lr"]
        )
        self.scheduler = build_scheduler(self.optimizer, scheduler_cfg)

    @property
    def lr(self) -> float:
        return current_lr(self.optimizer)

    def step(self) -> None:
        # The placeholder has no gradient, so this changes nothing; it keeps torch from warning
        # that the scheduler stepped before its optimizer did.
        self.optimizer.step()
        self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        # Chainable schedulers read the optimizer's current lr, so it is saved as well.
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
