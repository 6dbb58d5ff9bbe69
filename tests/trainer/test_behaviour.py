"""Client behaviour draws and the round's closing rule, on tiny cases checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainer.federated.behaviour import (
    Availability,
    Behaviour,
    Profiles,
    dropouts,
    group_members,
    slowdowns,
)
from trainer.federated.rounds import ClientPlan, Simulator, Status, close, select_clients
from trainer.seeding import derive_seed, generator


def plan(client: int, seconds: float, dropped: bool = False) -> ClientPlan:
    status: Status = "dropped" if dropped else "selected"
    return ClientPlan(client, 10, 1.0, seconds, 0.0, seconds, 8, status)


FOUR = [plan(0, 5.0), plan(1, 12.0), plan(2, 3.0, dropped=True), plan(3, 8.0)]


def statuses(plans: tuple[ClientPlan, ...]) -> list[str]:
    return [p.status for p in plans]


def test_deadline_keeps_the_first_target_in_time() -> None:
    out, seconds, accepted = close(FOUR, target=2, minimum=1, deadline=10.0)
    assert statuses(out) == ["aggregated", "late", "dropped", "aggregated"]
    assert seconds == 8.0 and accepted  # the 2nd update arrived at 8 s, before the deadline


def test_too_few_in_time_fails_at_the_deadline() -> None:
    out, seconds, accepted = close(FOUR, target=3, minimum=2, deadline=6.0)
    # Only client 0 (5 s) beat the deadline: 1 < minResponses 2, nothing is aggregated.
    assert statuses(out) == ["selected", "late", "dropped", "late"]
    assert seconds == 6.0 and not accepted


def test_without_deadline_the_round_waits_for_every_survivor() -> None:
    out, seconds, accepted = close(FOUR, target=4, minimum=1, deadline=None)
    assert statuses(out) == ["aggregated", "aggregated", "dropped", "aggregated"]
    assert seconds == 12.0 and accepted


def test_over_selection_keeps_the_fastest() -> None:
    out, seconds, _ = close(FOUR, target=1, minimum=1, deadline=None)
    assert statuses(out) == ["aggregated", "late", "dropped", "late"]
    assert seconds == 5.0


def test_all_reported_before_the_deadline_closes_early() -> None:
    # Client 2 failed at 3 s and the other two reported by 8 s: no need to wait for 20 s.
    plans = [plan(0, 5.0), plan(2, 3.0, dropped=True), plan(3, 8.0)]
    _, seconds, _ = close(plans, target=3, minimum=1, deadline=20.0)
    assert seconds == 8.0


def test_ties_break_by_client_id() -> None:
    out, _, _ = close([plan(4, 2.0), plan(1, 2.0)], target=1, minimum=1, deadline=None)
    assert statuses(out) == ["late", "aggregated"]


def old_sample_clients(seed: int, round_: int, clients: int, per_round: int) -> tuple[int, ...]:
    """The selection of a run without client behaviour, as the server drew it before."""
    draw = torch.randperm(clients, generator=generator(derive_seed(seed, "select", round_)))
    return tuple(sorted(draw[:per_round].tolist()))


def test_everyone_available_draws_the_old_selection() -> None:
    for round_ in range(5):
        everyone = np.ones(20, dtype=bool)
        assert select_clients(7, round_, 5, everyone) == old_sample_clients(7, round_, 20, 5)


def test_unavailable_clients_are_never_selected() -> None:
    available = np.zeros(20, dtype=bool)
    available[[2, 3, 5, 11, 19]] = True
    chosen = select_clients(7, 0, 4, available)
    assert len(chosen) == 4 and set(chosen) <= {2, 3, 5, 11, 19}
    assert select_clients(7, 0, 10, available) == (2, 3, 5, 11, 19)  # fewer than asked


def simulator(cfg: dict[str, object], sizes: list[int] | None = None, seed: int = 3) -> Simulator:
    sizes = sizes or [100] * 10
    return Simulator(Behaviour.of(cfg), seed, sizes, per_round=4, epochs=2, model_bytes=1000)


def test_ideal_world_aggregates_the_selection_and_times_the_slowest() -> None:
    sim = simulator({}, sizes=[10 * (c + 1) for c in range(10)])
    for round_ in range(3):
        rp = sim.plan(round_, 0.0)
        assert rp.aggregated == old_sample_clients(3, round_, 10, 4)
        slowest = max(10 * (c + 1) for c in rp.aggregated)
        assert rp.seconds == pytest.approx(slowest * 2 * 0.005)  # samples x epochs x 5 ms
        assert not rp.skipped and len(rp.attempts) == 1


def test_bandwidth_adds_download_and_upload() -> None:
    sim = simulator({"bandwidthKbps": 8.0, "secondsPerSample": 0.01})
    c = sim.client(0, dropped=False, fraction=0.5)
    assert c.compute == pytest.approx(100 * 2 * 0.01)
    assert c.comm == pytest.approx(2000 * 8 / 8000)  # 2 x 1000 bytes at 8 kbit/s: 2 s
    d = sim.client(0, dropped=True, fraction=0.5)
    assert d.seconds == pytest.approx(0.5 * (2.0 + 2.0)) and d.wire_bytes == 1000


def test_same_seed_same_rounds_other_seed_other_rounds() -> None:
    cfg = {
        "speed": {"distribution": "lognormal", "sigma": 1.0},
        "dropout": {"probability": 0.2},
        "deadlineSeconds": 2.0,
        "overSelection": 1.5,
    }
    first = [simulator(cfg).plan(r, 10.0 * r) for r in range(6)]
    again = [simulator(cfg).plan(r, 10.0 * r) for r in range(6)]
    other = [simulator(cfg, seed=4).plan(r, 10.0 * r) for r in range(6)]
    assert first == again and first != other
    assert all(len(rp.final.clients) == 6 for rp in first)  # ceil(4 x 1.5)
    assert any(c.status == "late" for rp in first for c in rp.final.clients)


def test_repeat_retries_then_skips() -> None:
    cfg = {"dropout": {"probability": 1.0}, "onTooFew": "repeat", "maxAttempts": 3}
    rp = simulator(cfg).plan(0, 0.0)
    assert [a.attempt for a in rp.attempts] == [0, 1, 2] and rp.skipped and rp.aggregated == ()
    # Each attempt starts when the previous one ended, with a fresh draw.
    assert rp.attempts[1].start == rp.attempts[0].start + rp.attempts[0].seconds
    assert rp.attempts[0].clients != rp.attempts[1].clients


def test_skip_is_one_attempt() -> None:
    rp = simulator({"dropout": {"probability": 1.0}}).plan(0, 0.0)
    assert len(rp.attempts) == 1 and rp.skipped
    assert {c.status for c in rp.final.clients} == {"dropped"}


def test_groups_cut_a_seeded_permutation() -> None:
    members = group_members([0.3, 0.5], 10, seed=1)
    assert [len(m) for m in members] == [3, 5]
    assert not set(members[0]) & set(members[1])
    speed = {
        "groups": [
            {"share": 0.3, "speed": {"distribution": "constant", "factor": 10.0}},
            {"share": 0.5, "speed": {"distribution": "uniform", "low": 2.0, "high": 3.0}},
        ]
    }
    factors = slowdowns(speed, 10, seed=1)
    assert sorted(np.flatnonzero(factors == 10.0).tolist()) == members[0]
    assert all(2.0 <= factors[c] < 3.0 for c in members[1])
    rest = set(range(10)) - set(members[0]) - set(members[1])
    assert all(factors[c] == 1.0 for c in rest)  # outside every group: the reference speed


def test_distributions() -> None:
    zipf = slowdowns({"distribution": "zipf", "exponent": 1.5, "max": 20.0}, 500, seed=0)
    assert zipf.min() >= 1.0 and zipf.max() == 20.0 and (zipf == 1.0).mean() > 0.3
    logn = slowdowns({"distribution": "lognormal", "mu": 0.0, "sigma": 0.5}, 4000, seed=0)
    assert abs(np.log(logn).mean()) < 0.05 and abs(np.log(logn).std() - 0.5) < 0.05


def test_trace_table_gives_absolute_costs() -> None:
    speed = {
        "distribution": "table",
        "computeMsPerSample": [10.0, 40.0],
        "bandwidthKbps": [1000.0, 250.0],
    }
    profiles = Profiles.of(Behaviour.of({"speed": speed, "secondsPerSample": 0.01}), 2, 0)
    assert profiles.compute_seconds(1, 50, 2) == pytest.approx(50 * 2 * 0.040)
    assert profiles.comm_seconds(1, 1000) == pytest.approx(8000 / 250_000)
    assert profiles.slowdown.tolist() == pytest.approx([1.0, 4.0])


def test_probability_availability_is_a_fresh_draw_per_round() -> None:
    avail = Availability({"model": "probability", "probability": 0.3}, 2000, seed=5)
    a, b = avail.at(0.0, 0, 0), avail.at(0.0, 1, 0)
    assert abs(a.mean() - 0.3) < 0.05 and not np.array_equal(a, b)
    assert np.array_equal(a, Availability(avail.spec, 2000, seed=5).at(99.0, 0, 0))


def test_on_off_spends_the_expected_share_of_time_on() -> None:
    spec = {"model": "onOff", "meanOnSeconds": 30.0, "meanOffSeconds": 90.0}
    avail = Availability(spec, 200, seed=2)
    share = np.mean([avail.at(t, 0, 0).mean() for t in np.arange(0.0, 3000.0, 50.0)])
    assert abs(share - 0.25) < 0.05
    # Asked out of order, a fresh copy answers the same: the process depends on time alone.
    late_first = Availability(spec, 200, seed=2)
    assert np.array_equal(late_first.at(2000.0, 0, 0), avail.at(2000.0, 0, 0))
    off = int(np.flatnonzero(~avail.at(100.0, 0, 0))[0])
    comes_on = avail._next_on(off, 100.0)
    assert comes_on > 100.0 and avail._on(off, comes_on) and not avail._on(off, comes_on - 1e-6)


def test_windows_repeat_with_their_period() -> None:
    spec = {
        "model": "windows",
        "clients": [
            {"windows": [[10.0, 20.0]], "periodSeconds": 100.0},
            {"windows": [[5.0, 6.0]]},
        ],
    }
    avail = Availability(spec, 2, seed=0)
    assert avail.at(15.0, 0, 0).tolist() == [True, False]
    assert avail.at(115.0, 0, 0).tolist() == [True, False]
    assert avail.at(5.5, 0, 0).tolist() == [False, True]
    assert avail.next_online(7.0) == 10.0
    assert avail.next_online(21.0) == 110.0  # client 1 never returns; client 0 next period
    assert (
        Availability({**spec, "clients": [{"windows": [[1.0, 2.0]]}]}, 1, 0).next_online(3.0)
        == math.inf
    )


def test_waiting_for_the_first_client_online_counts() -> None:
    spec = {"model": "windows", "clients": [{"windows": [[50.0, 60.0]]}] * 10}
    rp = simulator({"availability": spec}).plan(0, 0.0)
    assert rp.final.waited == 50.0 and rp.final.start == 50.0
    assert rp.seconds == pytest.approx(50.0 + 100 * 2 * 0.005)


def test_dropouts_do_not_depend_on_who_else_was_selected() -> None:
    fails, fraction = dropouts(0.5, seed=1, round_=2, attempt=0, clients=50)
    again, _ = dropouts(0.5, seed=1, round_=2, attempt=0, clients=50)
    assert np.array_equal(fails, again) and 10 < fails.sum() < 40
    assert ((fraction >= 0) & (fraction < 1)).all()
