"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100 from torchvision's on-disk layout."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torchvision import datasets, transforms
from torchvision.datasets.utils import check_integrity

from trainer.data.common import NORMALISE, DataError, Labelled

TORCHVISION: dict[str, type[datasets.VisionDataset]] = {
    "mnist": datasets.MNIST,
    "fashion-mnist": datasets.FashionMNIST,
    "cifar10": datasets.CIFAR10,
    "cifar100": datasets.CIFAR100,
}


def transform(name: str, train: bool, augment: bool) -> transforms.Compose:
    """ToTensor and normalisation; CIFAR training adds a padded random crop and a horizontal
    flip. The digit sets get no augmentation: a flipped digit is another glyph."""
    steps: list[Any] = []
    if train and augment and name.startswith("cifar"):
        steps += [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()]
    mean, std = NORMALISE[name]
    steps += [transforms.ToTensor(), transforms.Normalize(mean, std)]
    return transforms.Compose(steps)


def expected_files(cls: Any, root: Path) -> list[tuple[Path, str | None]]:
    """The files (and MD5s where torchvision checks one) that torchvision's loader needs."""
    if issubclass(cls, datasets.CIFAR10):
        folder = root / cls.base_folder
        listed = [*cls.train_list, *cls.test_list, [cls.meta["filename"], cls.meta["md5"]]]
        return [(folder / name, md5) for name, md5 in listed]
    # MNIST-style sets read the unpacked idx files; their download resources are the .gz names.
    raw = root / cls.__name__ / "raw"
    return [(raw / Path(name).stem, None) for name, _ in cls.resources]


def _check_files(name: str, cls: Any, root: Path) -> None:
    for path, md5 in expected_files(cls, root):
        if not path.is_file():
            problem = "is missing"
        elif not check_integrity(path, md5):
            problem = "fails torchvision's MD5 check"
        else:
            continue
        raise DataError(
            f"dataset {name}: {path} {problem}; put the {cls.__name__} files under {root} in "
            f"torchvision's layout, or set dataset.download: true to fetch them"
        )


def vision_dataset(cfg: Mapping[str, Any], data_dir: Path, train: bool, seed: int) -> Labelled:
    """The torchvision dataset, downloaded into data_dir first only when cfg["download"]."""
    name = cfg["name"]
    cls = TORCHVISION[name]
    tf = transform(name, train, bool(cfg.get("augment", True)))
    if cfg.get("download", False):
        try:
            ds = cls(str(data_dir), train=train, transform=tf, download=True)
        except (RuntimeError, OSError) as err:
            raise DataError(
                f"dataset {name}: download into {data_dir} failed ({err}); fetch the files "
                f"yourself into that directory or check the pod's network access"
            ) from None
    else:
        _check_files(name, cls, data_dir)
        ds = cls(str(data_dir), train=train, transform=tf, download=False)
    return Labelled(ds, torch.as_tensor(ds.targets))
