"""Each aggregation strategy against numbers worked out by hand (after Flower's fedmedian_test)."""

from __future__ import annotations

from math import sqrt

import pytest
import torch

from trainer.federated.strategies import STRATEGIES, build_strategy

GLOBAL = torch.tensor([1.0, 2.0])
# Two clients holding 1 and 3 samples.
CLIENTS = torch.tensor([[2.0, 2.0], [4.0, 6.0]])
WEIGHTS = torch.tensor([1.0, 3.0])
# Weighted mean: ((2*1 + 4*3) / 4, (2*1 + 6*3) / 4) = (3.5, 5.0); Delta = mean - global.
MEAN = [3.5, 5.0]
DELTA = [2.5, 3.0]
OPT = {"serverLr": 0.1, "beta1": 0.9, "beta2": 0.99, "tau": 0.1}


def _round(name: str, **cfg: float) -> list[float]:
    strategy = build_strategy({"name": name, **cfg})
    return strategy.aggregate(GLOBAL, CLIENTS, WEIGHTS).tolist()


def test_fedavg_is_the_sample_weighted_mean() -> None:
    assert _round("fedavg") == pytest.approx(MEAN)


def test_fedprox_averages_like_fedavg_and_hands_mu_to_clients() -> None:
    assert _round("fedprox", mu=0.01) == pytest.approx(MEAN)
    assert build_strategy({"name": "fedprox", "mu": 0.01}).proximal_mu == 0.01
    assert build_strategy({"name": "fedavg"}).proximal_mu == 0.0


# Round 1 of Algorithm 2 with m_{-1} = 0 and v_{-1} = tau^2 = 0.01:
#   m = 0.1 * Delta = (0.25, 0.30);  x = global + 0.1 * m / (sqrt(v) + 0.1)
def test_fedadam_first_round() -> None:
    v = [0.99 * 0.01 + 0.01 * 2.5**2, 0.99 * 0.01 + 0.01 * 3.0**2]  # (0.0724, 0.0999)
    expected = [1 + 0.1 * 0.25 / (sqrt(v[0]) + 0.1), 2 + 0.1 * 0.30 / (sqrt(v[1]) + 0.1)]
    assert _round("fedadam", **OPT) == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx([1.067737, 2.072103], abs=1e-6)


def test_fedyogi_first_round() -> None:
    # sign(v - Delta^2) = sign(0.01 - 6.25) = -1, so v = 0.01 + 0.01 * Delta^2.
    v = [0.01 + 0.01 * 6.25, 0.01 + 0.01 * 9.0]  # (0.0725, 0.1)
    expected = [1 + 0.1 * 0.25 / (sqrt(v[0]) + 0.1), 2 + 0.1 * 0.30 / (sqrt(v[1]) + 0.1)]
    assert _round("fedyogi", **OPT) == pytest.approx(expected, rel=1e-6)


def test_fedadagrad_first_round() -> None:
    v = [0.01 + 6.25, 0.01 + 9.0]
    expected = [1 + 0.1 * 0.25 / (sqrt(v[0]) + 0.1), 2 + 0.1 * 0.30 / (sqrt(v[1]) + 0.1)]
    cfg = {k: OPT[k] for k in ("serverLr", "beta1", "tau")}
    assert _round("fedadagrad", **cfg) == pytest.approx(expected, rel=1e-6)


def test_fedadam_carries_its_moments_into_the_next_round() -> None:
    strategy = build_strategy({"name": "fedadam", **OPT})
    x1 = strategy.aggregate(GLOBAL, CLIENTS, WEIGHTS)
    restored = build_strategy({"name": "fedadam", **OPT})
    restored.load_state_dict(strategy.state_dict())
    x2 = restored.aggregate(x1, CLIENTS, WEIGHTS).tolist()
    # Round 2 by hand: Delta2 = MEAN - x1, m2 = 0.9 m1 + 0.1 Delta2, v2 = 0.99 v1 + 0.01 Delta2^2.
    expected = []
    for i in range(2):
        m1, v1 = 0.1 * DELTA[i], 0.99 * 0.01 + 0.01 * DELTA[i] ** 2
        d2 = MEAN[i] - float(x1[i])
        m2, v2 = 0.9 * m1 + 0.1 * d2, 0.99 * v1 + 0.01 * d2**2
        expected.append(float(x1[i]) + 0.1 * m2 / (sqrt(v2) + 0.1))
    assert x2 == pytest.approx(expected, rel=1e-6)


MANY = torch.tensor([[1.0, 10.0], [2.0, 20.0], [100.0, -5.0], [3.0, 0.0], [4.0, 7.0]])


def test_fedmedian_is_coordinate_wise_and_unweighted() -> None:
    median = build_strategy({"name": "fedmedian"})
    heavy = torch.tensor([1000.0, 1.0, 1.0])
    # Columns (1, 2, 100) and (10, 20, -5): medians 2 and 10, whatever the weights.
    assert median.aggregate(GLOBAL, MANY[:3], heavy).tolist() == [2.0, 10.0]
    # Even count: the mean of the two middle values; (1, 2, 3, 100) -> 2.5, (-5, 0, 10, 20) -> 5.
    assert median.aggregate(GLOBAL, MANY[:4], torch.ones(4)).tolist() == [2.5, 5.0]


def test_fedtrimmedavg_drops_each_end() -> None:
    trimmed = build_strategy({"name": "fedtrimmedavg", "trimFraction": 0.2})
    # floor(0.2 * 5) = 1 cut per end: (1, 2, 3, 4, 100) -> mean(2, 3, 4) = 3;
    # (-5, 0, 7, 10, 20) -> mean(0, 7, 10) = 17 / 3.
    assert trimmed.aggregate(GLOBAL, MANY, torch.ones(5)).tolist() == pytest.approx([3.0, 17 / 3])
    # floor(0.2 * 4) = 0: nothing is cut, the plain mean of (1, 2, 100, 3) and (10, 20, -5, 0).
    assert trimmed.aggregate(GLOBAL, MANY[:4], torch.ones(4)).tolist() == [26.5, 6.25]


def test_unknown_strategy_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown strategy 'fedsgd'; valid names: fedavg, fedprox"):
        build_strategy({"name": "fedsgd"})
    assert set(STRATEGIES) == {
        "fedavg", "fedprox", "fedadam", "fedyogi", "fedadagrad", "fedmedian", "fedtrimmedavg",
    }  # fmt: skip
