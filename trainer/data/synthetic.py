"""Random tensors of a dataset's shape and label count, learnable and deterministic from a seed."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from fltkc.contract.catalog import SYNTHETIC_TEST, SYNTHETIC_TRAIN
from trainer.data.common import INPUT_SHAPES, NUM_CLASSES, Labelled

DEFAULT_TRAIN_SAMPLES, DEFAULT_TEST_SAMPLES = SYNTHETIC_TRAIN, SYNTHETIC_TEST
SYNTHETIC_USERS = 16  # reddit: samples are spread over this many fake LEAF users
NOISE = 0.5


def synthetic_dataset(name: str, samples: int, train: bool, seed: int) -> Labelled:
    """`samples` items of dataset `name`'s shape.

    Images are a per-class prototype plus Gaussian noise, so a model can learn them and a
    test can see the loss fall; the prototypes come from `seed` alone, so train and test
    share them, while the noise and labels also depend on the split. Reddit sequences are
    random tokens whose target is the next token of a fixed per-seed permutation."""
    classes = NUM_CLASSES[name]
    shape = INPUT_SHAPES[name]
    proto_gen = torch.Generator().manual_seed(seed)
    gen = torch.Generator().manual_seed(seed * 2 + (0 if train else 1))
    if name == "reddit":
        successor = torch.randperm(classes, generator=proto_gen)
        inputs = torch.randint(0, classes, (samples, *shape), generator=gen)
        targets = successor[inputs]
        users = [f"synthetic-user-{i % SYNTHETIC_USERS:02d}" for i in range(samples)]
        return Labelled(TensorDataset(inputs, targets), targets[:, 0], users=users)
    prototypes = torch.randn((classes, *shape), generator=proto_gen)
    labels = torch.randint(0, classes, (samples,), generator=gen)
    images = prototypes[labels] + NOISE * torch.randn((samples, *shape), generator=gen)
    return Labelled(TensorDataset(images, labels), labels)
