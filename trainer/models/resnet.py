"""Residual nets: ResNet-18 with a CIFAR stem, and FLTK's small ResNet for Fashion-MNIST."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class BasicBlock(nn.Module):
    """The two-conv residual block of He et al. 2016, with a 1x1 conv+BN shortcut on a shape
    change."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.Conv2d(cout, cout, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(cout),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class CifarResNet18(nn.Module):
    """ResNet-18 for 32x32 inputs as in FLTK's cifar_10_resnet.py and cifar_100_resnet.py:
    a 3x3 stride-1 stem without max-pooling (the CIFAR stem), four stages of two BasicBlocks
    (64, 128, 256, 512 channels), global average pooling and one dense layer."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
        )
        self.stages = _stages(BasicBlock)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.stages(self.stem(x)))
        return logits


class PreActResidual(nn.Module):
    """FLTK's Fashion-MNIST residual unit: BN-ReLU-conv twice, a 1x1 conv shortcut when the
    stage downsamples, and no activation after the sum."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin, eps=1e-3),
            nn.ReLU(),
            nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1),
            nn.BatchNorm2d(cout, eps=1e-3),
            nn.ReLU(),
            nn.Conv2d(cout, cout, kernel_size=3, padding=1),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Conv2d(cin, cout, kernel_size=1, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x) + self.shortcut(x)
        return out


class FashionMnistResNet(nn.Module):
    """FLTK's fashion_mnist_resnet.py: a 7x7 stride-2 stem with 3x3 max-pooling (28 -> 14 -> 7),
    four stages of two residual units (64, 128, 256, 512), pooling and one dense layer.

    The seed pools with a fixed 3x3 window, which fails on the 1x1 map a 28x28 input leaves;
    global average pooling is the same operation on inputs large enough for the seed's."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.stages = _stages(PreActResidual)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.head(self.stages(self.stem(x)))
        return logits


def _stages(block: Callable[..., nn.Module]) -> nn.Sequential:
    """ResNet-18's four stages of two blocks each: 64, 128, 256, 512 channels."""
    stages: list[nn.Module] = []
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        stages += [block(cin, cout, stride), block(cout, cout)]
        cin = cout
    return nn.Sequential(*stages)
