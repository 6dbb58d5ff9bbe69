"""The inner loops both modes share: one pass of training and a summed evaluation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.optim import Optimizer

from trainer.data import IGNORE_INDEX

Penalty = Callable[[nn.Module], torch.Tensor]
# CPU evaluation runs the model on this many samples at a time and joins the outputs: the
# activations stay in cache (a 256-sample pass of the MNIST CNN writes 26 MB per layer), which
# makes evaluation ~20 % faster on 1 or 2 threads, and every model of trainer.models gives the
# same outputs bit for bit (tests/trainer/test_runtime_units.py).
EVAL_CHUNK = 64


@dataclass(frozen=True)
class Sums:
    """Summed loss, correct predictions and counted targets; add across ranks, then divide."""

    loss: float
    correct: int
    count: int

    @property
    def mean_loss(self) -> float:
        return self.loss / max(self.count, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.count, 1)


def train_epoch(
    model: nn.Module,
    batches: Iterable[Any],
    optimizer: Optimizer,
    loss_fn: nn.Module,
    device: torch.device,
    penalty: Penalty | None = None,
) -> tuple[float, int]:
    """One pass over `batches`; returns (summed training loss, counted targets).

    The loss of a batch is its sum over targets divided by their count (a mean), so the
    gradient matches a mean-reduced loss; totals stay on the device until the end to avoid a
    host sync per step."""
    model.train()
    total = torch.zeros((), device=device)
    count = torch.zeros((), device=device, dtype=torch.long)
    for inputs, targets in batches:
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        optimizer.zero_grad(set_to_none=True)
        summed = loss_fn(model(inputs), targets)
        counted = (targets != IGNORE_INDEX).sum()
        loss = summed / counted.clamp(min=1)
        if penalty is not None:
            loss = loss + penalty(model)
        loss.backward()
        optimizer.step()
        total += summed.detach()
        count += counted
    return float(total), int(count)


@torch.no_grad()
def evaluate(
    model: nn.Module, batches: Iterable[Any], loss_fn: nn.Module, device: torch.device
) -> Sums:
    """Summed loss and accuracy; argmax over dim 1 covers (N, C) and reddit's (N, vocab, seq)."""
    model.eval()
    loss = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.long)
    count = torch.zeros((), device=device, dtype=torch.long)
    for inputs, targets in batches:
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)
        if device.type == "cpu" and len(inputs) > EVAL_CHUNK:
            outputs = torch.cat([model(part) for part in inputs.split(EVAL_CHUNK)])
        else:
            outputs = model(inputs)
        mask = targets != IGNORE_INDEX
        loss += loss_fn(outputs, targets).double()
        correct += ((outputs.argmax(dim=1) == targets) & mask).sum()
        count += mask.sum()
    return Sums(float(loss), int(correct), int(count))
