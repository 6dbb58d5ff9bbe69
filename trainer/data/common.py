"""What every data source shares: class counts, input shapes and a dataset view with targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from fltkc.contract.catalog import DATASETS

# From the contract's catalog; reddit's class count is its vocabulary, its shape (sequence length,).
NUM_CLASSES: dict[str, int] = {name: d.classes for name, d in DATASETS.items()}
INPUT_SHAPES: dict[str, tuple[int, ...]] = {name: d.shape for name, d in DATASETS.items()}

# Padded target positions of a reddit sequence hold this value: nn.CrossEntropyLoss's default
# ignore_index, so padding adds nothing to the loss (LEAF masks it the same way).
IGNORE_INDEX = -100


class DataError(ValueError):
    """A dataset that cannot be loaded as configured; the message names the place and the fix."""


class Labelled(Dataset[Any]):
    """A view of `base` restricted to `indices`, carrying `targets` (and reddit's `users`)."""

    def __init__(
        self,
        base: Dataset[Any],
        targets: torch.Tensor,
        indices: Sequence[int] | None = None,
        users: Sequence[str] | None = None,
    ) -> None:
        self.base = base
        self.indices = list(range(len(targets))) if indices is None else list(indices)
        self.targets = targets[self.indices].long() if indices is not None else targets.long()
        self.users = None if users is None else [users[i] for i in self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.base[self.indices[index]]


def limit(dataset: Labelled, cfg: Mapping[str, Any], train: bool, seed: int) -> Labelled:
    """Apply trainSamples (a seeded subset, kept in dataset order) or testSamples (the first)."""
    count = cfg.get("trainSamples" if train else "testSamples")
    if count is None or count >= len(dataset):
        return dataset
    if train:
        gen = torch.Generator().manual_seed(seed)
        chosen = sorted(torch.randperm(len(dataset), generator=gen)[:count].tolist())
    else:
        chosen = list(range(count))
    users = dataset.users
    return Labelled(dataset, dataset.targets, chosen, users)


# Per-channel mean and standard deviation of each training set (pixels scaled to [0, 1]).
NORMALISE: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
