"""Splits of a dataset's indices over federated clients, and statistics of a split."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from fltkc.contract import catalog
from fltkc.contract.errors import UsageError
from trainer.data.partition_fltk import limit_labels_flex, n_labels, q_sampler
from trainer.data.partition_skew import ensure_minimum, quantity_dirichlet, quantity_powerlaw

Parts = list[list[int]]


def _finish(parts: Sequence[Sequence[int]]) -> Parts:
    """Sorted plain-int lists, and no empty client while another client can spare a sample."""
    out = [sorted(int(i) for i in part) for part in parts]
    for client, part in enumerate(out):
        if part:
            continue
        donor = max(range(len(out)), key=lambda c: (len(out[c]), -c))
        half = len(out[donor]) // 2
        if half == 0:
            break
        # The largest client gives up the upper half of its indices: deterministic, and both
        # stay sorted (with reddit both halves still follow few users).
        out[donor], out[client] = out[donor][:-half], out[donor][-half:]
    return out


def iid(
    targets: np.ndarray, clients: int, cfg: Mapping[str, Any], rng: np.random.Generator
) -> Parts:
    """A random permutation cut into `clients` parts whose sizes differ by at most one."""
    return [p.tolist() for p in np.array_split(rng.permutation(len(targets)), clients)]


def dirichlet(
    targets: np.ndarray, clients: int, cfg: Mapping[str, Any], rng: np.random.Generator
) -> Parts:
    """Each class split over the clients in proportions drawn from Dir(alpha) (Hsu et al. 2019,
    "Measuring the Effects of Non-Identical Data Distribution"); small alpha = strong skew."""
    alpha = float(cfg["alpha"])
    parts: Parts = [[] for _ in range(clients)]
    for label in np.unique(targets):
        members = rng.permutation(np.flatnonzero(targets == label))
        shares = rng.dirichlet(np.full(clients, alpha))
        cuts = (np.cumsum(shares)[:-1] * len(members)).round().astype(int)
        for client, chunk in enumerate(np.split(members, cuts)):
            parts[client] += chunk.tolist()
    return parts


def shards(
    targets: np.ndarray, clients: int, cfg: Mapping[str, Any], rng: np.random.Generator
) -> Parts:
    """McMahan et al. 2017: sort by label, cut into clients * s equal shards, deal s random
    shards to each client. The n mod (clients * s) samples left after the cut stay unused, and
    a shard straddles two labels where a class size is not a multiple of the shard size."""
    per_client = int(cfg["shardsPerClient"])
    count = clients * per_client
    size = len(targets) // count
    if size == 0:
        raise UsageError(
            f"$.federated.partition.shardsPerClient: {len(targets)} training samples cannot fill "
            f"{count} shards ({clients} clients x {per_client}); lower shardsPerClient or clients"
        )
    # Shuffle before the stable sort so each class's order within the shards is random.
    shuffled = rng.permutation(len(targets))
    ordered = shuffled[np.argsort(targets[shuffled], kind="stable")]
    deal = rng.permutation(count).reshape(clients, per_client)
    return [
        np.concatenate([ordered[s * size : (s + 1) * size] for s in row]).tolist() for row in deal
    ]


def limit_labels(
    targets: np.ndarray, clients: int, cfg: Mapping[str, Any], rng: np.random.Generator
) -> Parts:
    """Each client holds k labels ("#C=k" of Li et al. 2022, NIID-Bench); client c takes k
    consecutive labels of a seeded label order starting at c * k, so labels spread evenly and
    all are used when clients * k >= the number of labels; each label's samples are shared
    equally among its holders. Labels that no client holds are left out."""
    labels = rng.permutation(np.unique(targets))
    k = min(int(cfg["labelsPerClient"]), len(labels))
    holders: dict[int, list[int]] = {int(label): [] for label in labels}
    for client in range(clients):
        for j in range(k):
            holders[int(labels[(client * k + j) % len(labels)])].append(client)
    parts: Parts = [[] for _ in range(clients)]
    for label, owners in holders.items():
        if not owners:
            continue
        members = rng.permutation(np.flatnonzero(targets == label))
        for owner, chunk in zip(owners, np.array_split(members, len(owners)), strict=True):
            parts[owner] += chunk.tolist()
    return parts


Partitioner = Callable[[np.ndarray, int, Mapping[str, Any], np.random.Generator], Parts]
PARTITIONS: dict[str, Partitioner] = {
    "iid": iid,
    "dirichlet": dirichlet,
    "shards": shards,
    "limit-labels": limit_labels,
    "q-sampler": q_sampler,
    "n-labels": n_labels,
    "limit-labels-flex": limit_labels_flex,
    "quantity-dirichlet": quantity_dirichlet,
    "quantity-powerlaw": quantity_powerlaw,
}
# Partitions by an id the data carries (LEAF's users), not by label: chosen by name only.
NATURAL = "natural"


def by_user(users: Sequence[str], clients: int, rng: np.random.Generator) -> Parts:
    """LEAF's natural split: whole users dealt round-robin, in a seeded order, to the clients."""
    names = sorted(set(users))
    order = [names[i] for i in rng.permutation(len(names))]
    client_of = {name: n % clients for n, name in enumerate(order)}
    parts: Parts = [[] for _ in range(clients)]
    for index, user in enumerate(users):
        parts[client_of[user]].append(index)
    return parts


def partition_dataset(dataset: Any, num_clients: int, cfg: Mapping[str, Any], seed: int) -> Parts:
    """Client index lists for `dataset` (which has `targets`, and `users` for reddit).

    `natural` deals whole users; every other name cuts by sample, and data with users allows
    only iid among those (the contract's checks refuse the rest). `minClientSamples` then tops
    small clients up from the largest."""
    name = cfg["name"]
    if name not in PARTITIONS and name != NATURAL:
        valid = ", ".join([*PARTITIONS, NATURAL])
        raise ValueError(f"unknown partition {name!r}; valid names: {valid}")
    if num_clients < 1:
        raise ValueError(f"partition: num_clients must be at least 1, got {num_clients}")
    samples = len(dataset.targets)
    if num_clients > samples:
        raise UsageError(
            f"$.federated.clients: {num_clients} is more than the {samples} training samples; "
            "each client needs at least one, so lower clients"
        )
    cfg = {**catalog.PARTITIONS[name], **cfg}  # a partial block gets the contract's defaults
    rng = np.random.default_rng(seed)
    users = getattr(dataset, "users", None)
    if name == NATURAL:
        if users is None:
            raise UsageError(
                "$.federated.partition.name: natural needs a dataset whose samples carry a user id"
            )
        parts = _finish(by_user(users, num_clients, rng))
    elif users is not None and name != "iid":
        message = f"{name} cuts by label; data with users takes natural or iid"
        raise UsageError(f"$.federated.partition.name: {message}")
    else:
        targets = torch.as_tensor(dataset.targets).numpy()
        parts = _finish(PARTITIONS[name](targets, num_clients, cfg, rng))
    minimum = cfg.get("minClientSamples")
    if minimum is not None:
        try:
            parts = ensure_minimum(parts, int(minimum))
        except ValueError as exc:
            raise UsageError(f"$.federated.partition.minClientSamples: {exc}") from None
    return _no_empty_client(parts, name)


def _no_empty_client(parts: Parts, name: str) -> Parts:
    """A client without samples would train on nothing and weigh zero: refuse the split."""
    empty = [client for client, part in enumerate(parts) if not part]
    if empty:
        raise UsageError(
            f"$.federated.partition: {name} leaves {len(empty)} of {len(parts)} clients without "
            f"training samples (client {empty[0]} first); lower federated.clients or use iid"
        )
    return parts


def partition_stats(parts: Parts, targets: torch.Tensor, num_classes: int) -> dict[str, Any]:
    """Per-client sizes and label histograms (labels with a zero count left out), and a summary."""
    labels = torch.as_tensor(targets).long()
    clients: list[dict[str, Any]] = []
    sizes: list[int] = []
    distinct: list[int] = []
    for client, part in enumerate(parts):
        counts = torch.bincount(labels[part], minlength=num_classes).tolist() if part else []
        histogram = {str(label): int(n) for label, n in enumerate(counts) if n}
        clients.append({"client": client, "size": len(part), "histogram": histogram})
        sizes.append(len(part))
        distinct.append(len(histogram))
    summary = {
        "clients": len(parts),
        "samples": sum(sizes),
        "datasetSize": len(labels),
        "minSize": min(sizes, default=0),
        "maxSize": max(sizes, default=0),
        "meanSize": sum(sizes) / len(sizes) if sizes else 0.0,
        "meanLabelsPerClient": sum(distinct) / len(distinct) if distinct else 0.0,
    }
    return {"clients": clients, "summary": summary}
