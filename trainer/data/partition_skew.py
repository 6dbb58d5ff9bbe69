"""Quantity skew, a minimum client size and per-client held-out splits of a partition.

Quantity skew follows Li et al. 2022 ("Federated Learning on Non-IID Data Silos: An
Experimental Study", NIID-Bench): client sizes from Dir(alpha) over a random permutation of
the samples, labels left iid; the power-law variant gives the client of rank r (a seeded
order) a share proportional to r^-exponent, the skew of LEAF's natural user sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _counts(shares: np.ndarray, total: int) -> list[int]:
    """Largest-remainder rounding of shares x total, with every client given one sample first
    when there are enough (an empty client would train on nothing)."""
    floor = 1 if total >= len(shares) else 0
    spare = total - floor * len(shares)
    raw = shares / shares.sum() * spare
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: spare - int(counts.sum())]] += 1
    return [int(c) + floor for c in counts]


def _cut(total: int, counts: Sequence[int], rng: np.random.Generator) -> list[list[int]]:
    order = rng.permutation(total)
    edges = np.cumsum([0, *counts])
    return [order[a:b].tolist() for a, b in zip(edges, edges[1:], strict=False)]


def quantity_dirichlet(
    targets: np.ndarray, clients: int, cfg: Mapping[str, Any], rng: np.random.Generator
) -> list[list[int]]:
    """Client sizes in proportions drawn from Dir(alpha); small alpha = very unequal sizes."""
    shares = rng.dirichlet(np.full(clients, float(cfg["alpha"])))
    return _cut(len(targets), _counts(shares, len(targets)), rng)


def quantity_powerlaw(
    targets: np.ndarray, clients: int, cfg: Mapping[str, Any], rng: np.random.Generator
) -> list[list[int]]:
    """Client sizes proportional to rank^-exponent over a seeded ranking of the clients."""
    ranks = rng.permutation(clients) + 1
    shares = ranks.astype(np.float64) ** -float(cfg["exponent"])
    return _cut(len(targets), _counts(shares, len(targets)), rng)


def ensure_minimum(parts: list[list[int]], minimum: int) -> list[list[int]]:
    """Top every client up to `minimum` samples from the largest client's upper indices
    (deterministic; the donor never drops below `minimum`); ValueError when impossible."""
    total = sum(len(p) for p in parts)
    if total < minimum * len(parts):
        raise ValueError(
            f"minClientSamples {minimum}: {total} samples cannot give each of {len(parts)} "
            f"clients {minimum}; lower minClientSamples or clients"
        )
    out = [list(p) for p in parts]
    while True:
        short = [c for c in range(len(out)) if len(out[c]) < minimum]
        if not short:
            return [sorted(p) for p in out]
        client = min(short, key=lambda c: (len(out[c]), c))
        donor = max(range(len(out)), key=lambda c: (len(out[c]), -c))
        give = min(minimum - len(out[client]), len(out[donor]) - minimum)
        ordered = sorted(out[donor])
        out[donor], moved = ordered[:-give], ordered[-give:]
        out[client] += moved


def held_out(
    parts: Sequence[Sequence[int]], fraction: float, seed: int
) -> tuple[list[list[int]], list[list[int]]]:
    """Each client's (train, held-out) split: a seeded floor(fraction x size) of its samples
    held out for its local evaluation, never its last training sample."""
    train: list[list[int]] = []
    held: list[list[int]] = []
    for client, part in enumerate(parts):
        rng = np.random.default_rng([seed, client])
        keep = min(int(fraction * len(part)), max(len(part) - 1, 0))
        chosen = set(rng.permutation(len(part))[:keep].tolist())
        held.append([i for n, i in enumerate(part) if n in chosen])
        train.append([i for n, i in enumerate(part) if n not in chosen])
    return train, held
