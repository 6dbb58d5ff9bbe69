"""Small convolutional nets for MNIST, Fashion-MNIST and CIFAR-10."""

from __future__ import annotations

import torch
from torch import nn


class MnistCNN(nn.Module):
    """The MNIST CNN of McMahan et al. 2017 ("Communication-Efficient Learning of Deep
    Networks from Decentralized Data", section 3): 5x5 conv 32 and 64, each with 2x2 max-pool,
    a 512-unit dense layer and 10 outputs."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        # padding 2 keeps 28x28 through each 5x5 conv, so pooling gives 28 -> 14 -> 7.
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 512),
            nn.ReLU(),
            nn.Linear(512, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.classifier(self.features(x))
        return logits


class FashionMnistCNN(nn.Module):
    """FLTK's Fashion-MNIST CNN (fltk/nets/fashion_mnist_cnn.py): two 5x5 conv+BN+pool blocks."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=5, padding=2),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=5, padding=2),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.classifier(self.features(x))
        return logits


def _conv_relu_bn(cin: int, cout: int) -> list[nn.Module]:
    # FLTK applies BatchNorm after the ReLU in this net; kept for parity with the seed.
    return [nn.Conv2d(cin, cout, kernel_size=3, padding=1), nn.ReLU(), nn.BatchNorm2d(cout)]


class Cifar10CNN(nn.Module):
    """FLTK's CIFAR-10 CNN (fltk/nets/cifar_10_cnn.py): three pairs of 3x3 convs (32, 64, 128)
    each followed by 2x2 max-pooling, then 128 -> 10 dense layers.

    Differences from the seed, neither of which changes a shape: the seed's final softmax is
    dropped because the loss takes logits, and a ReLU sits between the two dense layers, which
    the seed composes linearly."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for cout in (32, 64, 128):
            layers += _conv_relu_bn(cin, cout) + _conv_relu_bn(cout, cout) + [nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, 128),
            nn.ReLU(),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.classifier(self.features(x))
        return logits
