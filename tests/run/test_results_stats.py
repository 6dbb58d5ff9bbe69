"""The statistics behind `fltkc results`, against published tables and hand-worked answers."""

from __future__ import annotations

import math

import pytest

from fltkc.results.stats import percentile, summarize, t_cdf, t_quantile

# Two-sided 95% and 99% critical values of Student's t (any statistics textbook's table, e.g.
# NIST/SEMATECH e-Handbook 1.3.6.7.2), to the six decimals tables print.
T_TABLE = {
    1: (12.706205, 63.656741),
    2: (4.302653, 9.924843),
    3: (3.182446, 5.840909),
    4: (2.776445, 4.604095),
    9: (2.262157, 3.249836),
    29: (2.045230, 2.756386),
    100: (1.983972, 2.625891),
}


@pytest.mark.parametrize("df", sorted(T_TABLE))
def test_t_quantiles_match_the_table(df: int) -> None:
    t95, t99 = T_TABLE[df]
    assert t_quantile(0.975, df) == pytest.approx(t95, abs=1e-6)
    assert t_quantile(0.995, df) == pytest.approx(t99, abs=1e-6)
    assert t_quantile(0.025, df) == pytest.approx(-t95, abs=1e-6)


def test_t_cdf_known_points() -> None:
    # df = 1 is the Cauchy distribution: P(T <= 1) = 3/4; df = 2 has a closed form.
    assert t_cdf(1.0, 1) == pytest.approx(0.75, abs=1e-12)
    assert t_cdf(0.0, 7) == pytest.approx(0.5, abs=1e-12)
    t = 1.5
    assert t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)
    assert t_quantile(0.99, 1e6) == pytest.approx(2.326348, abs=1e-5)  # the normal limit


def test_summary_of_three_values_by_hand() -> None:
    s = summarize([0.80, 0.84, 0.88])
    assert s is not None and s.n == 3
    assert s.mean == pytest.approx(0.84) and s.std == pytest.approx(0.04)
    half = 4.302653 * 0.04 / math.sqrt(3)  # t(0.975, 2) s / sqrt(n) = 0.099366
    assert s.ci_low == pytest.approx(0.84 - half, abs=1e-6)
    assert s.ci_high == pytest.approx(0.84 + half, abs=1e-6)
    assert s.half_width == pytest.approx(0.099366, abs=1e-6)


def test_one_value_has_no_spread_and_none_has_no_summary() -> None:
    s = summarize([0.93])
    assert s is not None and (s.n, s.mean, s.std, s.ci_low, s.ci_high) == (
        1,
        0.93,
        None,
        None,
        None,
    )
    assert summarize([]) is None
    same = summarize([100.0, 100.0, 100.0])
    assert same is not None and (same.std, same.ci_low, same.ci_high) == (0.0, 100.0, 100.0)


def test_percentiles_interpolate_between_ranks() -> None:
    values = [31.0, 10.0, 24.0, 12.0, 18.0]  # sorted: 10 12 18 24 31
    assert percentile(values, 50) == 18.0
    assert percentile(values, 90) == pytest.approx(24 + 0.6 * 7)  # rank 3.6
    assert percentile(values, 99) == pytest.approx(24 + 0.96 * 7)
    assert percentile(values, 0) == 10.0 and percentile(values, 100) == 31.0
    assert percentile([5.0], 99) == 5.0 and percentile([], 50) is None
