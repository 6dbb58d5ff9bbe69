"""Federated jobs as real `python -m trainer` processes over gloo on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trainer_helpers as h

from trainer.federated.comm import RECORD_WIDTH, host_of

pytestmark = pytest.mark.slow

ROUNDS = 5
FED = {
    "rounds": ROUNDS,
    "clients": 6,
    "clientsPerRound": 3,
    "localEpochs": 1,
    # FedAdam keeps server state (m, v), so an exact resume proves it was checkpointed.
    "strategy": {"name": "fedadam", "serverLr": 0.01, "beta1": 0.9, "beta2": 0.99, "tau": 0.001},
    "partition": {"name": "dirichlet", "alpha": 0.5},
}
# Fashion-MNIST's CNN has BatchNorm: its float buffers and counters cross the wire too.
CONFIG = h.config(
    dataset={
        "name": "fashion-mnist",
        "source": "synthetic",
        "trainSamples": 256,
        "testSamples": 128,
    },
    model={"name": "fashion-mnist-cnn"},
    scheduler={"name": "exponential", "gamma": 0.9},
    evaluation={"every": 2},
    federated=FED,
)


# The median rules see every client's vector: executors send them one by one.
MEDIAN = {**CONFIG, "federated": {**FED, "strategy": {"name": "fedmedian"}}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[h.Job, h.Job, h.Job]:
    """The job run uninterrupted in one process (WORLD_SIZE=1: server and clients in one),
    beside it the same job with another seed, and with the median strategy."""
    job = h.new_job(tmp_path_factory.mktemp("reference"), CONFIG)
    other = h.new_job(tmp_path_factory.mktemp("other-seed"), {**CONFIG, "seed": h.SEED + 1})
    median = h.new_job(tmp_path_factory.mktemp("median"), MEDIAN)
    for code, out in h.finish([job.start(0, 1), other.start(0, 1), median.start(0, 1)]):
        assert code == 0, out
    return job, other, median


@pytest.fixture(scope="module")
def reference(runs: tuple[h.Job, h.Job, h.Job]) -> h.Job:
    return runs[0]


@pytest.fixture(scope="module")
def median(runs: tuple[h.Job, h.Job, h.Job]) -> h.Job:
    return runs[2]


def test_one_process_writes_every_output(reference: h.Job) -> None:
    metrics = reference.metrics()
    assert [m["step"] for m in metrics] == list(range(1, ROUNDS + 1))
    assert {m["kind"] for m in metrics} == {"round"}
    # Evaluated every 2 rounds and after the last.
    assert [m["accuracy"] is not None for m in metrics] == [False, True, False, True, True]
    assert all(len(m["clients"]) == 3 and m["bytes"] == 0 for m in metrics)
    assert [m["lr"] for m in metrics] == pytest.approx([0.05 * 0.9**r for r in range(ROUNDS)])
    assert set(metrics[0]) == {
        "kind", "step", "loss", "accuracy", "trainLoss", "seconds", "bytes", "lr", "clients",
        "time", "simulatedSeconds", "simulatedTime", "attempts", "skipped", "bytesIn",
        "vectorsIn",
    }  # fmt: skip
    assert all(m["bytesIn"] == 0 and m["vectorsIn"] == 0 for m in metrics)
    # No client behaviour: nobody is late, the simulated clock runs 5 ms a sample.
    assert all(m["attempts"] == 1 and not m["skipped"] for m in metrics)
    sim = [m["simulatedTime"] for m in metrics]
    assert sim == sorted(sim) and sim[-1] == pytest.approx(
        sum(m["simulatedSeconds"] for m in metrics)
    )
    times = [m["time"] for m in metrics]
    assert times == sorted(times)
    result = reference.result()
    assert result["status"] == "succeeded" and result["mode"] == "federated"
    assert result["steps"] == ROUNDS and result["seed"] == h.SEED and result["job"] == "job-0"
    assert result["finalAccuracy"] == metrics[-1]["accuracy"]
    assert result["bestAccuracy"] == max(m["accuracy"] for m in metrics if m["accuracy"])
    partition = json.loads((reference.log_dir / "partition.json").read_text())
    assert partition["summary"]["clients"] == 6 and partition["summary"]["samples"] == 256
    every, evaluated = list(range(1, ROUNDS + 1)), [2, 4, 5]
    assert reference.tensorboard() == {
        "loss/train": every,
        "time/step_seconds": every,
        "comm/bytes": every,
        "lr": every,
        "clients/participants": every,
        "clients/participation": every,
        "clients/aggregated": every,
        "clients/late": every,
        "clients/dropped": every,
        "clients/sim_seconds": every,
        "time/simulated_seconds": every,
        "time/simulated": every,
        "loss/test": evaluated,
        "accuracy/test": evaluated,
    }


def _traffic(job: h.Job, world_size: int, clients: list[int], reduce: bool) -> tuple[int, int, int]:
    """(bytes, bytes in, vectors in) of a round: the order and the global vector out to each
    executor; from each executor hosting clients, a record per client and its partial sum
    (float64, with the samples) under a mean strategy, else every client's vector."""
    size = sum(t.numel() for t in job.weights().values())
    sent = ((3 + FED["clientsPerRound"]) * 8 + size * 4) * (world_size - 1)
    vectors = len({host_of(c, world_size) for c in clients}) if reduce else len(clients)
    received = len(clients) * RECORD_WIDTH * 8 + vectors * ((size + 1) * 8 if reduce else size * 4)
    return sent + received, received, vectors


def _same_run(job: h.Job, reference: h.Job, reduce: bool) -> None:
    assert h.same_weights(job.weights(), reference.weights())
    metrics, ref = job.metrics(), reference.metrics()
    assert [m["clients"] for m in metrics] == [m["clients"] for m in ref]
    assert [m["accuracy"] for m in metrics] == [m["accuracy"] for m in ref]
    traffic = [_traffic(job, 3, m["clients"], reduce) for m in metrics]
    assert [(m["bytes"], m["bytesIn"], m["vectorsIn"]) for m in metrics] == traffic
    assert job.result()["bytes"] == sum(t[0] for t in traffic)


def test_three_ranks_train_exactly_like_one(reference: h.Job, tmp_path: Path) -> None:
    """Clients are seeded by (seed, round, client), not by the rank that hosts them, and the
    executors' partial sums add up to one process's sum."""
    job = h.new_job(tmp_path, CONFIG)
    results = h.run(job, 3)
    assert [code for code, _ in results] == [0, 0, 0], results
    _same_run(job, reference, reduce=True)
    assert {m["vectorsIn"] for m in job.metrics()} <= {1, 2}  # one per executor, not per client


def test_median_gets_every_clients_vector(median: h.Job, tmp_path: Path) -> None:
    job = h.new_job(tmp_path, MEDIAN)
    results = h.run(job, 3)
    assert [code for code, _ in results] == [0, 0, 0], results
    _same_run(job, median, reduce=False)
    assert {m["vectorsIn"] for m in job.metrics()} == {FED["clientsPerRound"]}


def test_killed_server_resumes_from_its_checkpoint(reference: h.Job, tmp_path: Path) -> None:
    job = h.new_job(tmp_path, CONFIG)
    procs = [job.start(rank, 3) for rank in range(3)]
    h.wait_until(lambda: len(job.metrics()) >= 2, 60, "round 2 in metrics.jsonl")
    h.kill9(procs[0])
    # The clients notice the server is gone and leave with one line and the retry code.
    for code, out in h.finish(procs[1:], 30):
        assert code == 129, out
        assert "peer lost" in out and "Traceback" not in out
    killed_at = len(job.metrics())
    assert killed_at < ROUNDS, "the run ended before the kill; give it more rounds"
    results = h.run(job, 3)
    assert [code for code, _ in results] == [0, 0, 0], results
    resumed = int(results[0][1].split("after step ")[1].split()[0])
    assert killed_at - 1 <= resumed <= killed_at
    assert [m["step"] for m in job.metrics()] == list(range(1, ROUNDS + 1))
    assert [m["lr"] for m in job.metrics()] == [m["lr"] for m in reference.metrics()]
    assert job.tensorboard()["loss/train"] == list(range(1, ROUNDS + 1))
    assert h.same_weights(job.weights(), reference.weights())


def test_another_seed_gives_other_weights(runs: tuple[h.Job, h.Job, h.Job]) -> None:
    reference, other, _ = runs
    assert other.result()["seed"] == h.SEED + 1
    assert not h.same_weights(other.weights(), reference.weights())
