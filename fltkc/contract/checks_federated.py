"""The rules of a federated config's partition and client behaviour beyond its schema (part of
contract.checks: the compiler and the trainer refuse the same)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fltkc.contract.catalog import DATASETS, USER_PARTITIONS, train_samples

Issue = tuple[tuple[str | int, ...], str]  # a path inside the config, and the message


def federated_issues(fed: Mapping[str, Any], dataset: Mapping[str, Any]) -> list[Issue]:
    """Partition and client-behaviour problems of a completed `federated` block."""
    return _partition_issues(dataset, fed) + _behaviour_issues(fed)


def _partition_issues(dataset: Mapping[str, Any], fed: Mapping[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    partition, where = fed["partition"], ("federated", "partition")
    name, data = partition["name"], dataset["name"]
    with_users = [n for n, d in DATASETS.items() if d.by_user]
    if name == "natural" and not DATASETS[data].by_user:
        message = (
            f"natural splits by the users in the data and {data} has none "
            f"({', '.join(with_users)} does); use iid or a label partition"
        )
        issues.append(((*where, "name"), message))
    if DATASETS[data].by_user and name not in USER_PARTITIONS:
        message = f"{data} is split by its LEAF users: use natural (or iid); {name} cuts by label"
        issues.append(((*where, "name"), message))
    minimum, known = partition.get("minClientSamples"), train_samples(dataset)
    if minimum is not None and known is not None and minimum * fed["clients"] > known.count:
        message = (
            f"{fed['clients']} clients x {minimum} samples is more than the {known.count} "
            f"training samples {known.origin}; lower it or federated.clients"
        )
        issues.append(((*where, "minClientSamples"), message))
    return issues


def _behaviour_issues(fed: Mapping[str, Any]) -> list[Issue]:
    block = fed.get("clientBehaviour")
    if block is None:
        return []
    where: tuple[str | int, ...] = ("federated", "clientBehaviour")
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
