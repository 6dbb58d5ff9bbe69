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

T = TypeVar("T")
Params = Iterable[torch.Tensor]


def lookup(registry: Mapping[str, T], name: str, what: str) -> T:
    """registry[name], or a ValueError that lists the valid names."""
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown {what} {name!r}; valid names: {', '.join(registry)}") from None


def _betas(cfg: Mapping[str, Any]) -> tuple[float, float]:
    betas = cfg.get("betas", (0.9, 0.999))  # torch's default for Adam and AdamW
    return float(betas[0]), float(betas[1])


OPTIMIZERS: dict[str, Callable[[Params, Mapping[str, Any]], Optimizer]] = {
    "sgd": lambda p, c: torch.optim.SGD(
        p,
        lr=c["lr"],
        momentum=c.get("momentum", 0.0),
        nesterov=c.get("nesterov", False),
        weight_decay=c.get("weightDecay", 0.0),
    ),
    "adam": lambda p, c: torch.optim.Adam(
        p, lr=c["lr"], betas=_betas(c), weight_decay=c.get("weightDecay", 0.0)
    ),
    "adamw": lambda p, c: torch.optim.AdamW(
        p, lr=c["lr"], betas=_betas(c), weight_decay=c.get("weightDecay", 0.0)
    ),
}

SCHEDULERS: dict[str, Callable[[Optimizer, Mapping[str, Any]], LRScheduler]] = {
    "none": lambda o, c: LambdaLR(o, lambda _step: 1.0),
    "step": lambda o, c: StepLR(o, step_size=c["stepSize"], gamma=c["gamma"]),
    "exponential": lambda o, c: ExponentialLR(o, gamma=c["gamma"]),
    "cosine": lambda o, c: CosineAnnealingLR(o, T_max=c["tMax"], eta_min=c.get("minLr", 0.0)),
}

# Summed over samples: callers divide by the count, so batches of any size weigh the same.
# Reddit pads targets with -100, the default ignore_index of both losses.
LOSSES: dict[str, Callable[[], nn.Module]] = {
    "cross-entropy": lambda: nn.CrossEntropyLoss(reduction="sum"),
    "nll": lambda: nn.NLLLoss(reduction="sum"),
}


def build_optimizer(params: Params, cfg: Mapping[str, Any]) -> Optimizer:
    return lookup(OPTIMIZERS, cfg["name"], "optimizer")(params, cfg)


def build_scheduler(optimizer: Optimizer, cfg: Mapping[str, Any]) -> LRScheduler:
    return lookup(SCHEDULERS, cfg["name"], "scheduler")(optimizer, cfg)


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
