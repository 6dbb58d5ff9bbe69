"""Client behaviour across the contract: every speed model, availability model and round rule
the experiment schema offers, compiled, loaded by the trainer's own loader and planned by its
round simulator (the goldens cover the trace files)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from contract_support import FEDERATED, compile_tasks, compiled_config, load_as_trainer, task

from fltkc.contract.behaviour import complete_behaviour
from trainer.federated.behaviour import Behaviour
from trainer.federated.rounds import Simulator

MNIST = {"name": "mnist"}
SPEEDS: dict[str, dict[str, Any]] = {
    "constant": {"distribution": "constant", "factor": 2.0},
    "uniform": {"distribution": "uniform", "low": 1.0, "high": 3.0},
    "lognormal": {"distribution": "lognormal"},
    "zipf": {"distribution": "zipf", "exponent": 1.5},
    "groups": {"groups": [{"share": 0.5, "speed": {"distribution": "constant", "factor": 4.0}}]},
}
AVAILABILITY: dict[str, dict[str, Any]] = {
    "always": {"model": "always"},
    "probability": {"model": "probability", "probability": 0.8},
    "onOff": {"model": "onOff", "meanOnSeconds": 600, "meanOffSeconds": 300},
}
RULES: dict[str, dict[str, Any]] = {
    "plain": {},
    "deadline-skip": {"deadlineSeconds": 1.0, "minResponses": 2, "onTooFew": "skip"},
    "deadline-repeat": {"deadlineSeconds": 1.0, "onTooFew": "repeat", "maxAttempts": 2},
    "dropout-overselect": {"dropout": {"probability": 0.2}, "overSelection": 1.5},
    "bandwidth": {"bandwidthKbps": 5000, "secondsPerSample": 0.01},
}
CASES = [
    (speed, availability, rules)
    for speed in SPEEDS
    for availability in AVAILABILITY
    for rules in RULES
    if availability == "always" or rules == "plain"  # each axis in full, the rest once
]


@pytest.mark.parametrize(("speed", "availability", "rules"), CASES, ids=map("-".join, CASES))
def test_every_client_behaviour_compiles_loads_and_plans(
    speed: str, availability: str, rules: str, tmp_path: Path
) -> None:
    behaviour = {"speed": SPEEDS[speed], "availability": AVAILABILITY[availability]}
    behaviour |= copy.deepcopy(RULES[rules])
    federated = copy.deepcopy(FEDERATED) | {"clients": 8, "clientsPerRound": 4}
    federated["clientBehaviour"] = behaviour
    (job,) = compile_tasks([task("t", "federated", "mnist-cnn", MNIST, federated=federated)]).jobs
    loaded = load_as_trainer(job, tmp_path)
    # The trainer fills nothing the compiler left out; the compiler wrote every default.
    assert loaded.raw == compiled_config(job)
    fed = loaded.federated
    assert fed is not None
    assert fed.client_behaviour == complete_behaviour(fed.client_behaviour)
    simulator = Simulator(
        Behaviour.of(fed.client_behaviour), loaded.seed, [10] * fed.clients,
        fed.clients_per_round, fed.local_epochs, 1000,
    )  # fmt: skip
    clock = 0.0
    for round_ in range(3):
        plan = simulator.plan(round_, clock)
        assert plan.attempts and plan.seconds >= 0
        assert set(plan.aggregated) <= set(range(fed.clients))
        clock += plan.seconds
