"""Client partitions on tiny label vectors, checked by hand."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema
from fltkc.contract.errors import UsageError
from trainer.data import PARTITIONS, partition_dataset, partition_stats

ALL = [
    {"name": "iid"},
    {"name": "dirichlet", "alpha": 0.5},
    {"name": "shards", "shardsPerClient": 2},
    {"name": "limit-labels", "labelsPerClient": 2},
]


def labelled(labels: list[int], users: list[str] | None = None) -> Any:
    return SimpleNamespace(targets=torch.tensor(labels), users=users)


def labels_of(part: list[int], data: Any) -> set[int]:
    return set(data.targets[part].tolist())


def assert_disjoint(parts: list[list[int]], n: int, cover: bool = True) -> None:
    flat = [i for part in parts for i in part]
    assert len(flat) == len(set(flat)) and all(0 <= i < n for i in flat)
    assert all(part == sorted(part) for part in parts)
    if cover:
        assert sorted(flat) == list(range(n))


def test_registry_matches_the_schema() -> None:
    schema = load_schema(TRAINER_CONFIG_SCHEMA)
    partition = schema["properties"]["federated"]["properties"]["partition"]
    assert [*PARTITIONS, "natural"] == partition["properties"]["name"]["enum"]


def test_iid_sizes_differ_by_at_most_one() -> None:
    data = labelled([0, 1] * 5)
    parts = partition_dataset(data, 3, {"name": "iid"}, seed=0)
    assert [len(p) for p in parts] == [4, 3, 3]
    assert_disjoint(parts, 10)


def test_dirichlet_small_alpha_skews_large_alpha_evens() -> None:
    data = labelled(torch.arange(10).repeat_interleave(100).tolist())  # 10 labels x 100
    skewed = partition_stats(
        partition_dataset(data, 10, {"name": "dirichlet", "alpha": 0.01}, seed=0), data.targets, 10
    )
    even_parts = partition_dataset(data, 10, {"name": "dirichlet", "alpha": 1000.0}, seed=0)
    even = partition_stats(even_parts, data.targets, 10)
    assert skewed["summary"]["meanLabelsPerClient"] <= 3
    assert even["summary"]["meanLabelsPerClient"] == 10
    # Near-uniform: every client near 100 samples, no label above 15% of a client's data.
    assert 90 <= even["summary"]["minSize"] <= even["summary"]["maxSize"] <= 110
    assert all(max(c["histogram"].values()) <= 0.15 * c["size"] for c in even["clients"])
    assert_disjoint(even_parts, 1000)


def test_dirichlet_leaves_no_client_empty() -> None:
    data = labelled([0] * 30 + [1] * 30)
    for seed in range(5):
        parts = partition_dataset(data, 12, {"name": "dirichlet", "alpha": 0.05}, seed=seed)
        assert min(len(p) for p in parts) >= 1
        assert_disjoint(parts, 60)


def test_shards_follow_mcmahan() -> None:
    data = labelled([0] * 20 + [1] * 20 + [2] * 20 + [3] * 20)
    parts = partition_dataset(data, 4, {"name": "shards", "shardsPerClient": 2}, seed=1)
    # 4 clients x 2 shards = 8 shards of 80 / 8 = 10 samples, each inside one label.
    assert [len(p) for p in parts] == [20, 20, 20, 20]
    for part in parts:
        assert len(labels_of(part, data)) <= 2
        counts = torch.bincount(data.targets[part], minlength=4)
        assert set(counts.tolist()) <= {0, 10, 20}  # whole shards only
    assert_disjoint(parts, 80)


def test_shards_leave_the_remainder_unused() -> None:
    data = labelled([0] * 21 + [1] * 22)  # 43 samples, 4 shards of 10: 3 left out
    parts = partition_dataset(data, 2, {"name": "shards", "shardsPerClient": 2}, seed=1)
    assert [len(p) for p in parts] == [20, 20]
    assert_disjoint(parts, 43, cover=False)


def test_shards_too_many_for_the_data() -> None:
    """Bad input, not a crash: the trainer exits 2 with this line (the compiler refuses first)."""
    with pytest.raises(UsageError, match="5 training samples cannot fill 6 shards"):
        partition_dataset(labelled([0] * 5), 3, {"name": "shards", "shardsPerClient": 2}, seed=1)


@pytest.mark.parametrize("cfg", ALL, ids=[c["name"] for c in ALL])
def test_more_clients_than_samples_is_refused(cfg: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match=r"^\$\.federated\.clients: 6 is more than the 5 training"):
        partition_dataset(labelled([0, 1, 0, 1, 0]), 6, cfg, seed=1)


def test_a_client_left_empty_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a sample for each client every built-in split fills every client (_finish); this
    guards a partitioner that drops samples, as a future one might."""
    monkeypatch.setitem(PARTITIONS, "iid", lambda targets, clients, cfg, rng: [[0], [], []])
    with pytest.raises(UsageError, match="iid leaves 2 of 3 clients without training samples"):
        partition_dataset(labelled([0, 1, 0]), 3, {"name": "iid"}, seed=0)


def test_limit_labels_gives_each_client_k_labels() -> None:
    data = labelled([0] * 6 + [1] * 6 + [2] * 6 + [3] * 6)
    parts = partition_dataset(data, 4, {"name": "limit-labels", "labelsPerClient": 2}, seed=3)
    # Clients 0 and 2 share one pair of labels, 1 and 3 the other; each label's 6 samples
    # are halved between its two holders: 3 + 3 per client.
    assert [len(p) for p in parts] == [6, 6, 6, 6]
    assert [len(labels_of(p, data)) for p in parts] == [2, 2, 2, 2]
    assert labels_of(parts[0], data) == labels_of(parts[2], data)
    assert labels_of(parts[0], data).isdisjoint(labels_of(parts[1], data))
    assert_disjoint(parts, 24)


def test_limit_labels_leaves_unheld_labels_out() -> None:
    data = labelled(torch.arange(10).repeat_interleave(3).tolist())
    parts = partition_dataset(data, 2, {"name": "limit-labels", "labelsPerClient": 2}, seed=3)
    assert [len(labels_of(p, data)) for p in parts] == [2, 2]
    assert sum(len(p) for p in parts) == 4 * 3  # 4 of the 10 labels are held
    assert_disjoint(parts, 30, cover=False)


@pytest.mark.parametrize("cfg", ALL, ids=[c["name"] for c in ALL])
def test_deterministic_per_seed(cfg: dict[str, Any]) -> None:
    data = labelled(torch.arange(4).repeat(15).tolist())
    a = partition_dataset(data, 3, cfg, seed=11)
    assert a == partition_dataset(data, 3, cfg, seed=11)
    assert a != partition_dataset(data, 3, cfg, seed=12)
    assert all(isinstance(i, int) for part in a for i in part)  # JSON-ready
    assert_disjoint(a, 60)  # 60 = 6 whole shards; 3 clients x 2 labels hold all 4 labels


def test_reddit_natural_keeps_users_whole() -> None:
    users = ["u0"] * 4 + ["u1"] * 2 + ["u2"] * 3 + ["u3"] * 1 + ["u4"] * 5
    data = labelled([7] * 15, users)
    parts = partition_dataset(data, 2, {"name": "natural"}, seed=0)
    owners = [{users[i] for i in part} for part in parts]
    assert owners[0].isdisjoint(owners[1]) and owners[0] | owners[1] == set(users)
    assert sorted(len(o) for o in owners) == [2, 3]  # five users dealt round-robin
    assert_disjoint(parts, 15)
    iid = partition_dataset(data, 2, {"name": "iid"}, seed=0)
    assert [len(p) for p in iid] == [8, 7]


def test_label_partitions_of_data_with_users_are_refused() -> None:
    """No silent fallback: reddit's users are split by `natural`, chosen by name."""
    data = labelled([7] * 15, ["u0"] * 15)
    for name in ("dirichlet", "shards", "limit-labels", "q-sampler"):
        with pytest.raises(UsageError, match="takes natural or iid"):
            partition_dataset(data, 2, {"name": name}, seed=0)
    with pytest.raises(UsageError, match="needs a dataset whose samples carry a user id"):
        partition_dataset(labelled([0, 1]), 2, {"name": "natural"}, seed=0)


def test_reddit_fewer_users_than_clients_fills_every_client() -> None:
    data = labelled([1] * 8, ["a"] * 6 + ["b"] * 2)
    parts = partition_dataset(data, 4, {"name": "natural"}, seed=0)
    assert min(len(p) for p in parts) >= 1
    assert_disjoint(parts, 8)


def test_unknown_partition_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="valid names: iid, dirichlet, shards, limit-labels, q-"):
        partition_dataset(labelled([0, 1]), 2, {"name": "pathological"}, seed=0)


def test_partition_stats_by_hand() -> None:
    targets = torch.tensor([0, 0, 1, 2, 2, 2])
    stats = partition_stats([[0, 1, 2], [3, 4], []], targets, num_classes=3)
    assert stats["clients"] == [
        {"client": 0, "size": 3, "histogram": {"0": 2, "1": 1}},
        {"client": 1, "size": 2, "histogram": {"2": 2}},
        {"client": 2, "size": 0, "histogram": {}},
    ]
    assert stats["summary"] == {
        "clients": 3,
        "samples": 5,
        "datasetSize": 6,
        "minSize": 0,
        "maxSize": 3,
        "meanSize": 5 / 3,
        "meanLabelsPerClient": 1.0,
    }
