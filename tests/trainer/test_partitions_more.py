"""FLTK's label partitions, quantity skew, minimum sizes and held-out splits, by hand."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from trainer.data import partition_dataset
from trainer.data.partition_skew import ensure_minimum, held_out


def labelled(labels: list[int]) -> Any:
    return SimpleNamespace(targets=torch.tensor(labels), users=None)


SIX_EACH = labelled(torch.arange(4).repeat_interleave(6).tolist())  # labels 0..3, 6 samples each


def labels(part: list[int], data: Any = SIX_EACH) -> list[int]:
    return sorted(set(data.targets[part].tolist()))


def covers(parts: list[list[int]], n: int) -> bool:
    flat = sorted(i for p in parts for i in p)
    return flat == list(range(n)) and all(p == sorted(p) for p in parts)


def test_q_sampler_with_q_one_keeps_each_label_in_its_group() -> None:
    parts = partition_dataset(SIX_EACH, 8, {"name": "q-sampler", "q": 1.0}, seed=0)
    # 8 clients, 4 groups: clients c and c + 4 form group c and share label c, 3 samples each.
    assert [labels(p) for p in parts] == [[0], [1], [2], [3], [0], [1], [2], [3]]
    assert [len(p) for p in parts] == [3] * 8
    assert covers(parts, 24)


def test_q_sampler_with_q_zero_sends_every_sample_away() -> None:
    parts = partition_dataset(SIX_EACH, 4, {"name": "q-sampler", "q": 0.0}, seed=0)
    assert all(c not in labels(p) for c, p in enumerate(parts))
    assert covers(parts, 24)


def test_q_sampler_with_fewer_clients_than_labels() -> None:
    parts = partition_dataset(SIX_EACH, 2, {"name": "q-sampler", "q": 1.0}, seed=0)
    assert [labels(p) for p in parts] == [[0, 2], [1, 3]]  # label i's home: group i mod 2


def test_n_labels_deals_n_labels_per_client() -> None:
    parts = partition_dataset(SIX_EACH, 4, {"name": "n-labels", "labelsPerClient": 2}, seed=5)
    # ceil(2 x 4 / 4) = 2 chunks of 3 per label; the deck runs out exactly: no pool.
    assert [len(labels(p)) for p in parts] == [2, 2, 2, 2] and [len(p) for p in parts] == [6] * 4
    assert labels(parts[0]) == labels(parts[2]) and labels(parts[1]) == labels(parts[3])
    assert set(labels(parts[0])).isdisjoint(labels(parts[1]))
    assert covers(parts, 24)


def test_n_labels_pools_the_labels_left_in_the_deck() -> None:
    parts = partition_dataset(SIX_EACH, 3, {"name": "n-labels", "labelsPerClient": 1}, seed=5)
    # ceil(1 x 3 / 4) = 1 chunk per label: three labels dealt whole, the fourth pooled and
    # shared 2 + 2 + 2.
    assert [len(p) for p in parts] == [8, 8, 8]
    pooled = set.intersection(*(set(labels(p)) for p in parts))
    assert len(pooled) == 1 and all(len(labels(p)) == 2 for p in parts)
    assert covers(parts, 24)


def test_limit_labels_flex_owns_whole_labels_and_deals_the_rest() -> None:
    data = labelled(torch.arange(10).repeat_interleave(6).tolist())
    parts = partition_dataset(data, 3, {"name": "limit-labels-flex"}, seed=2)
    # floor(10 / 3) = 3 labels owned per client (18 samples), the tenth dealt 2 + 2 + 2.
    assert [len(p) for p in parts] == [20, 20, 20]
    assert all(len(labels(p, data)) == 4 for p in parts)
    owned = [set(labels(p, data)) for p in parts]
    assert len(set.intersection(*owned)) == 1 and len(set.union(*owned)) == 10
    assert covers(parts, 60)


def test_limit_labels_flex_with_many_clients_deals_everything() -> None:
    parts = partition_dataset(SIX_EACH, 12, {"name": "limit-labels-flex"}, seed=2)
    assert [len(p) for p in parts] == [2] * 12
    assert covers(parts, 24)


def test_quantity_powerlaw_by_hand() -> None:
    data = labelled([0, 1] * 50)
    parts = partition_dataset(data, 4, {"name": "quantity-powerlaw", "exponent": 1.0}, seed=1)
    # One sample each, then 96 in shares 1 : 1/2 : 1/3 : 1/4 = 46.08, 23.04, 15.36, 11.52,
    # rounded by largest remainder to 46, 23, 15, 12.
    assert sorted((len(p) for p in parts), reverse=True) == [47, 24, 16, 13]
    assert covers(parts, 100)


def test_quantity_dirichlet_small_alpha_is_unequal_and_never_empty() -> None:
    data = labelled([0, 1] * 500)
    parts = partition_dataset(data, 20, {"name": "quantity-dirichlet", "alpha": 0.1}, seed=1)
    sizes = [len(p) for p in parts]
    assert min(sizes) >= 1 and max(sizes) > 10 * sorted(sizes)[len(sizes) // 2]
    even = partition_dataset(data, 20, {"name": "quantity-dirichlet", "alpha": 1e4}, seed=1)
    assert all(40 <= len(p) <= 60 for p in even)
    assert covers(parts, 1000)


def test_ensure_minimum_takes_from_the_largest() -> None:
    parts = ensure_minimum([list(range(10)), [10], []], 3)
    assert parts == [[0, 1, 2, 3, 4], [5, 6, 10], [7, 8, 9]]
    with pytest.raises(ValueError, match="11 samples cannot give each of 3 clients 4"):
        ensure_minimum([list(range(10)), [10], []], 4)


def test_min_client_samples_applies_to_any_partition() -> None:
    data = labelled([0, 1] * 100)
    cfg = {"name": "quantity-dirichlet", "alpha": 0.05, "minClientSamples": 8}
    parts = partition_dataset(data, 20, cfg, seed=3)
    assert min(len(p) for p in parts) >= 8 and covers(parts, 200)
    loose = partition_dataset(data, 20, {**cfg, "minClientSamples": 1}, seed=3)
    assert min(len(p) for p in loose) < 8


def test_held_out_split() -> None:
    train, held = held_out([list(range(10)), [10], [11, 12]], 0.3, seed=4)
    assert [len(h) for h in held] == [3, 0, 0]  # floor(0.3 x size), never the last sample
    assert [len(t) for t in train] == [7, 1, 2]
    assert sorted(train[0] + held[0]) == list(range(10))
    assert held_out([list(range(10))], 0.3, seed=4) == held_out([list(range(10))], 0.3, seed=4)
