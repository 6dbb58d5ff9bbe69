"""The model registry: one factory per model of the catalog (fltkc.contract.catalog.MODELS)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from trainer.models.cnn import Cifar10CNN, FashionMnistCNN, MnistCNN
from trainer.models.lstm import RedditLSTM
from trainer.models.resnet import CifarResNet18, FashionMnistResNet
from trainer.models.vgg import VGG16BN

MODELS: dict[str, Callable[[], nn.Module]] = {
    "mnist-cnn": MnistCNN,
    "fashion-mnist-cnn": FashionMnistCNN,
    "fashion-mnist-resnet": FashionMnistResNet,
    "cifar10-cnn": Cifar10CNN,
    "cifar10-resnet": lambda: CifarResNet18(num_classes=10),
    "cifar100-resnet": lambda: CifarResNet18(num_classes=100),
    "cifar100-vgg": VGG16BN,
    "reddit-lstm": RedditLSTM,
}


def build_model(name: str) -> nn.Module:
    """A freshly initialised model; initialisation draws from torch's global RNG (seed it first)."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; valid names: {', '.join(sorted(MODELS))}"
        ) from None
    return factory()
