"""Flat model vectors, and how parameters, BatchNorm statistics and counters are combined."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema
from trainer.federated.aggregate import Layout, Partial, aggregate, combine, flatten, load_vector
from trainer.federated.client import proximal_penalty
from trainer.federated.comm import RECORD_WIDTH, ClientRecord, Share, host_of, hosted
from trainer.federated.server import next_global, sample_clients
from trainer.federated.strategies import STRATEGIES, MeanStrategy, Strategy, build_strategy


def _net() -> nn.Module:
    # Parameters: linear weight (2) + bias (1), BN weight (1) + bias (1) = 5 elements;
    # float buffers: running_mean, running_var; counter: num_batches_tracked.
    return nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))


def test_layout_puts_parameters_then_float_buffers_then_counters() -> None:
    net = _net()
    layout = Layout.of(net)
    assert (layout.params, layout.floats, layout.counts, layout.size) == (5, 2, 1, 8)
    assert layout.names[4:] == ("1.running_mean", "1.running_var", "1.num_batches_tracked")
    vector = torch.arange(8, dtype=torch.float32)
    load_vector(net, vector)
    assert net[0].weight.tolist() == [[0.0, 1.0]] and net[1].bias.tolist() == [4.0]
    assert net[1].running_var.tolist() == [6.0] and int(net[1].num_batches_tracked) == 7
    assert torch.equal(flatten(net), vector)


def test_fedavg_weighs_parameters_and_statistics_and_keeps_the_largest_counter() -> None:
    layout = Layout.of(_net())
    glob = torch.zeros(8)
    a = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 10.0])
    b = torch.tensor([5.0, 9.0, 1.0, 1.0, 1.0, 4.0, 5.0, 12.0])
    out = aggregate(build_strategy({"name": "fedavg"}), layout, glob, [a, b], [1, 3])
    # (1 * a + 3 * b) / 4 for parameters and buffers; max(10, 12) for the counter.
    assert out.tolist() == [4.0, 7.0, 1.0, 1.0, 1.0, 3.0, 4.0, 12.0]


def test_median_is_robust_on_statistics_too() -> None:
    layout = Layout.of(_net())
    vecs = [torch.full((8,), v) for v in (1.0, 2.0, 50.0)]
    out = aggregate(build_strategy({"name": "fedmedian"}), layout, torch.zeros(8), vecs, [1, 1, 1])
    assert out.tolist() == [2.0] * 7 + [50.0]


def test_no_samples_keeps_the_global_model() -> None:
    layout = Layout.of(_net())
    glob = torch.arange(8, dtype=torch.float32)
    out = aggregate(build_strategy({"name": "fedavg"}), layout, glob, [torch.ones(8)], [0])
    assert torch.equal(out, glob)


def test_proximal_penalty_is_half_mu_times_the_squared_distance() -> None:
    net = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 2.0]]))
    penalty = proximal_penalty(net, mu=0.2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[2.0, 4.0]]))
    # 0.2 / 2 * ((2 - 1)^2 + (4 - 2)^2) = 0.1 * 5
    assert penalty(net).item() == pytest.approx(0.5)


def test_clients_spread_over_executor_ranks() -> None:
    assert [host_of(c, 1) for c in range(4)] == [0, 0, 0, 0]
    assert [host_of(c, 4) for c in range(7)] == [1, 2, 3, 1, 2, 3, 1]


def test_client_sampling_is_seeded_sorted_and_without_repeats() -> None:
    first = sample_clients(7, 0, 100, 10)
    assert first == sample_clients(7, 0, 100, 10)
    assert len(set(first)) == 10 and list(first) == sorted(first)
    assert all(0 <= c < 100 for c in first)
    assert first != sample_clients(7, 1, 100, 10) and first != sample_clients(8, 0, 100, 10)
    assert sample_clients(7, 0, 5, 5) == (0, 1, 2, 3, 4)


def test_every_schema_strategy_is_registered() -> None:
    schema = load_schema(TRAINER_CONFIG_SCHEMA)
    names = schema["properties"]["federated"]["properties"]["strategy"]["properties"]["name"]
    assert sorted(names["enum"]) == sorted(STRATEGIES)


# Unequal client sizes; FedOpt's server state is carried into a second round.
SAMPLES = {3: 7, 4: 1, 8: 30, 9: 12, 10: 5}
OPT = {"serverLr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 0.001}
CONFIGS = {
    "fedavg": {},
    "fedprox": {"mu": 0.01},
    "fedadam": OPT,
    "fedyogi": OPT,
    "fedadagrad": {k: OPT[k] for k in ("serverLr", "beta1", "tau")},
    "fedmedian": {},
    "fedtrimmedavg": {"trimFraction": 0.2},
}


def _client_models(round_: int) -> dict[int, nn.Module]:
    """A trained model per client: random weights, BatchNorm statistics and counters."""
    models = {}
    for client in SAMPLES:
        torch.manual_seed(100 * round_ + client)
        net = _net()
        with torch.no_grad():
            net[1].running_mean.normal_()
            net[1].running_var.uniform_(0.5, 2.0)
            net[1].num_batches_tracked.fill_(client * 3 + round_)
        models[client] = net
    return models


def _executor_shares(
    strategy: Strategy, layout: Layout, models: dict[int, nn.Module], world_size: int
) -> list[Share]:
    """What Executor.run hands in: per hosting rank, its clients ascending."""
    shares = []
    for mine in hosted(list(models), world_size).values():
        records = tuple(ClientRecord(c, SAMPLES[c], 0.0, 0, 0.0) for c in mine)
        if isinstance(strategy, MeanStrategy):
            partial = Partial(layout)
            for c in mine:
                partial.add(models[c], SAMPLES[c])
            shares.append(Share(records, partial))
        else:
            shares.append(Share(records, vectors=tuple(flatten(models[c]) for c in mine)))
    return shares


def _within_one_float32_step(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool((a == b).logical_or(torch.nextafter(a, b) == b).all())


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("executors", [1, 2])
def test_executor_shares_aggregate_like_one_vector_per_client(name: str, executors: int) -> None:
    """Each executor's partial sum (or its vectors, for the median rules) gives the global model
    that one vector per client gives, over two rounds of server state."""
    layout = Layout.of(_net())
    reference = build_strategy({"name": name, **CONFIGS[name]})
    ours = build_strategy({"name": name, **CONFIGS[name]})
    glob_ref = glob_ours = flatten(_net())
    for round_ in range(2):
        models = _client_models(round_)
        vectors = [flatten(models[c]) for c in sorted(models)]
        samples = [SAMPLES[c] for c in sorted(models)]
        glob_ref = aggregate(reference, layout, glob_ref, vectors, samples)
        shares = _executor_shares(ours, layout, models, executors + 1)
        assert len(shares) == executors
        glob_ours = next_global(ours, layout, glob_ours, shares)
        if executors == 1:
            assert torch.equal(glob_ours, glob_ref)
        assert _within_one_float32_step(glob_ours, glob_ref)
    assert glob_ref[-1] == max(c * 3 + 1 for c in SAMPLES)  # the counter: the largest
    assert not torch.equal(glob_ref, flatten(_net()))


def test_a_partial_holds_weighted_sums_the_largest_counter_and_the_samples() -> None:
    layout = Layout.of(_net())
    a, b = _net(), _net()
    load_vector(a, torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 10.0]))
    load_vector(b, torch.tensor([5.0, 9.0, 1.0, 1.0, 1.0, 4.0, 5.0, 12.0]))
    partial = Partial(layout)
    partial.add(a, 1)
    partial.add(b, 3)
    # 1 * a + 3 * b over parameters and statistics, max(10, 12), and 1 + 3 samples.
    assert partial.data.tolist() == [16.0, 28.0, 4.0, 4.0, 4.0, 12.0, 16.0, 12.0, 4.0]
    assert partial.data.dtype == torch.float64 and partial.weight == 4.0
    out = combine(build_strategy({"name": "fedavg"}), layout, torch.zeros(8), [partial])
    assert out.tolist() == [4.0, 7.0, 1.0, 1.0, 1.0, 3.0, 4.0, 12.0]


def test_no_partials_or_no_samples_keep_the_global_model() -> None:
    layout = Layout.of(_net())
    glob = torch.arange(8, dtype=torch.float32)
    fedavg = build_strategy({"name": "fedavg"})
    assert torch.equal(combine(fedavg, layout, glob, []), glob)
    empty = Partial(layout)
    empty.add(_net(), 0)
    assert torch.equal(combine(fedavg, layout, glob, [empty]), glob)


def test_client_records_travel_as_one_float64_row() -> None:
    record = ClientRecord(
        client=7, samples=40, loss_sum=12.5, count=40, compute_seconds=0.25,
        eval_loss=3.5, eval_correct=6, eval_count=10,
    )  # fmt: skip
    row = record.row()
    assert len(row) == RECORD_WIDTH == 8
    assert ClientRecord.from_row(torch.tensor(row, dtype=torch.float64).tolist()) == record
    assert isinstance(ClientRecord.from_row(row).samples, int)
    assert isinstance(ClientRecord.from_row(row).eval_correct, int)


def test_hosted_groups_the_selected_clients_by_rank() -> None:
    assert hosted([5, 0, 3, 2], 3) == {1: [0, 2], 2: [3, 5]}
    assert hosted([4, 2], 3) == {1: [2, 4]}
    assert hosted([4, 2], 1) == {0: [2, 4]}
