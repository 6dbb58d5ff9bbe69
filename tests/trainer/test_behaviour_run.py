"""Client behaviour in real `python -m trainer` runs: the same seed gives the same dropouts,
deadlines and aggregated sets on 1 rank and on 3, and after a kill and resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trainer_helpers as h

pytestmark = pytest.mark.slow

ROUNDS = 6
BEHAVIOUR = {
    "secondsPerSample": 0.01,
    "bandwidthKbps": 400_000,  # the 6.7 MB model down and up: 0.27 s
    "speed": {
        "groups": [
            {"share": 0.3, "speed": {"distribution": "constant", "factor": 8}},
            {"share": 0.7, "speed": {"distribution": "lognormal", "sigma": 0.5}},
        ]
    },
    "availability": {"model": "onOff", "meanOnSeconds": 3, "meanOffSeconds": 1},
    "dropout": {"probability": 0.15},
    "deadlineSeconds": 1.0,
    "minResponses": 2,
    "onTooFew": "repeat",
    "maxAttempts": 2,
    "overSelection": 1.5,
}
CONFIG = h.config(
    federated={
        "rounds": ROUNDS,
        "clients": 8,
        "clientsPerRound": 3,
        "localEpochs": 1,
        "strategy": {"name": "fedavg"},
        "partition": {"name": "quantity-dirichlet", "alpha": 1.0, "minClientSamples": 8},
        "clientEvaluation": {"heldOutFraction": 0.25},
        "clientBehaviour": BEHAVIOUR,
    },
)
MEASURED = ("computeSeconds",)  # wall time: the one field that differs from run to run


def clients(job: h.Job) -> list[dict[str, Any]]:
    lines = (job.log_dir / "clients.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(ln).items() if k not in MEASURED} for ln in lines]


def simulated(job: h.Job) -> list[tuple[Any, ...]]:
    keys = (
        "step",
        "clients",
        "simulatedSeconds",
        "simulatedTime",
        "attempts",
        "skipped",
        "accuracy",
    )
    return [tuple(m[k] for k in keys) for m in job.metrics()]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> h.Job:
    job = h.new_job(tmp_path_factory.mktemp("one-rank"), CONFIG)
    [(code, out)] = h.run(job, 1)
    assert code == 0, out
    return job


def test_one_rank_records_every_selected_client(reference: h.Job) -> None:
    rows = clients(reference)
    assert {r["round"] for r in rows} == set(range(1, ROUNDS + 1))
    statuses = {r["status"] for r in rows}
    assert {"aggregated", "late", "dropped"} <= statuses, statuses
    for metric in reference.metrics():
        mine = [r for r in rows if r["round"] == metric["step"]]
        aggregated = sorted(r["client"] for r in mine if r["status"] == "aggregated")
        assert aggregated == metric["clients"]
        assert all(r["simulatedSeconds"] <= 1.0 for r in mine if r["status"] == "aggregated")
        assert all(r["accuracy"] is not None for r in mine if r["status"] == "aggregated")
    assert reference.result()["simulatedSeconds"] == reference.metrics()[-1]["simulatedTime"]


def test_three_ranks_and_a_resume_give_the_same_rounds(reference: h.Job, tmp_path: Path) -> None:
    job = h.new_job(tmp_path, CONFIG)
    procs = [job.start(rank, 3) for rank in range(3)]
    h.wait_until(lambda: len(job.metrics()) >= 2, 60, "round 2 in metrics.jsonl")
    h.kill9(procs[0])
    for code, out in h.finish(procs[1:], 30):
        assert code == 129, out
    assert len(job.metrics()) < ROUNDS, "the run ended before the kill; give it more rounds"
    results = h.run(job, 3)
    assert [code for code, _ in results] == [0, 0, 0], results
    assert "resuming" in results[0][1]
    assert clients(job) == clients(reference)
    assert simulated(job) == simulated(reference)
    assert h.same_weights(job.weights(), reference.weights())
