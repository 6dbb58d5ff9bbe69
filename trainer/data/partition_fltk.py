"""FLTK's label partitions (fltk-testbed, fltk/samplers/): q-sampler, n-labels, limit-labels-flex.

Rewritten over a seeded generator: where FLTK walks labels and samples in a fixed order, the
order of labels and of each label's samples is drawn from the job seed, so runs with other seeds
differ and every rank still derives the same split.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def _members(targets: np.ndarray, label: Any, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.flatnonzero(targets == label))


def q_sampler(
    targets: np.ndarray, clients: int, cfg: Mapping[str, Any], rng: np.random.Generator
) -> list[list[int]]:
    """FLTK's Probability_q_Sampler: clients form G = min(labels, clients) groups (client c in
    group c mod G); label i's home is group i mod G. A sample goes to its home group with
    probability q, else to one of the other groups uniformly, and each group deals what it
    receives round-robin to its members. With clients a multiple of the labels (FLTK's
    requirement) every group owns one label."""
    q = float(cfg["q"])
    labels = np.unique(targets)
    groups = min(len(labels), clients)
    members = [list(range(g, clients, groups)) for g in range(groups)]
    turn = [0] * groups
    parts: list[list[int]] = [[] for _ in range(clients)]
    for i, label in enumerate(labels):
        home = i % groups
        samples = _members(targets, label, rng)
        stay = rng.random(len(samples)) < q
        other = rng.integers(0, max(groups - 1, 1), len(samples))
        for sample, keep, pick in zip(samples.tolist(), stay, other.tolist(), strict=True):
            group = home if keep or groups == 1 else (pick if pick < home else pick + 1)
            parts[members[group][turn[group]]].append(sample)
            turn[group] = (turn[group] + 1) % len(members[group])
    return parts


def n_labels(
    targets: np.ndarray, clients: int, cfg: Mapping[str, Any], rng: np.random.Generator
) -> list[list[int]]:
    """FLTK's N_Labels: each label is cut into c = ceil(n x clients / labels) chunks; a list of
    the labels repeated c times is dealt n at a time from its end to clients 0, 1, ...; the
    chunks of the labels left over are pooled and shared equally by all clients."""
    n = int(cfg["labelsPerClient"])
    labels = rng.permutation(np.unique(targets))
    copies = math.ceil(n * clients / len(labels))
    deck = [int(label) for label in labels] * copies
    holders: dict[int, list[int | None]] = {int(label): [] for label in labels}
    for client in range(clients):
        for _ in range(n):
            holders[deck.pop()].append(client)
    for label in deck:  # not dealt: its chunk goes to the pool
        holders[label].append(None)
    parts: list[list[int]] = [[] for _ in range(clients)]
    pool: list[int] = []
    for label in labels:
        chunks = np.array_split(_members(targets, label, rng), copies)
        for holder, chunk in zip(holders[int(label)], chunks, strict=True):
            (pool if holder is None else parts[holder]).extend(chunk.tolist())
    for client, share in enumerate(np.array_split(np.array(pool, dtype=np.int64), clients)):
        parts[client] += share.tolist()
    return parts


def limit_labels_flex(
    targets: np.ndarray, clients: int, cfg: Mapping[str, Any], rng: np.random.Generator
) -> list[list[int]]:
    """FLTK's LimitLabelsSamplerFlex: each client owns floor(labels / clients) labels outright
    (every sample of them); the samples of the labels no client owns are dealt to all clients
    in turn. With at least as many clients as labels no label is owned: all are dealt."""
    labels = [int(label) for label in rng.permutation(np.unique(targets))]
    per_client = len(labels) // clients
    parts: list[list[int]] = [[] for _ in range(clients)]
    for client in range(clients):
        for _ in range(per_client):
            parts[client] += _members(targets, labels.pop(), rng).tolist()
    rest = np.concatenate([_members(targets, label, rng) for label in labels] or [np.array([])])
    for client in range(clients):
        parts[client] += rest[client::clients].astype(np.int64).tolist()
    return parts
