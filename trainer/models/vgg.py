"""VGG-16 with batch normalisation for 32x32 inputs (FLTK's cifar_100_vgg.py, configuration D)."""

from __future__ import annotations

import torch
from torch import nn

# Simonyan & Zisserman 2015, table 1, configuration D: channels per 3x3 conv, "M" = 2x2 max-pool.
VGG16: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


class VGG16BN(nn.Module):
    """Five pooled conv stages take 32x32 to 1x1x512, then FLTK's 4096-4096 classifier."""

    def __init__(self, num_classes: int = 100) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for item in VGG16:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            cout = int(item)
            layers += [
                nn.Conv2d(cin, cout, kernel_size=3, padding=1),
                nn.BatchNorm2d(cout),
                nn.ReLU(),
            ]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(512, 4096),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.classifier(self.features(x))
        return logits
