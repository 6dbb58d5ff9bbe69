"""Distributed (DDP) jobs as real `python -m trainer` processes over gloo on loopback."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import trainer_helpers as h

pytestmark = pytest.mark.slow

EPOCHS = 4
CONFIG = h.config(
    distributed={"epochs": EPOCHS},
    optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.9},
    scheduler={"name": "step", "stepSize": 1, "gamma": 0.5},
)


def test_three_ranks_with_workers_first(tmp_path: Path) -> None:
    """Workers start before the master and retry until it listens, as pods do on a cluster."""
    job = h.new_job(tmp_path, CONFIG)
    # Rank 2 dials 127.0.0.2: only a store bound to all interfaces answers there, which is
    # what workers need when they reach the master through its Service address.
    workers = [job.start(1, 3), job.start(2, 3, MASTER_ADDR="127.0.0.2")]
    time.sleep(1.5)
    results = h.finish([job.start(0, 3), *workers])
    assert [code for code, _ in results] == [0, 0, 0], results
    assert all("waiting for the master" in out for _, out in results[1:])
    metrics = job.metrics()
    assert [(m["kind"], m["step"]) for m in metrics] == [("epoch", e) for e in range(1, 5)]
    assert [m["lr"] for m in metrics] == [0.05, 0.025, 0.0125, 0.00625]
    # The synthetic classes are learnable: the sharded test set is scored as a whole.
    assert metrics[-1]["accuracy"] > 0.5
    assert metrics[-1]["trainLoss"] < metrics[0]["trainLoss"]
    # Shards are disjoint: 256 samples over 3 ranks, 85 each, the 1 left over sits out.
    partition = json.loads((job.log_dir / "partition.json").read_text())
    assert [c["size"] for c in partition["clients"]] == [85, 85, 85]
    grad_bytes = sum(t.numel() for t in job.weights().values()) * 4
    steps = -(-85 // 32)
    assert {m["bytes"] for m in metrics} == {steps * grad_bytes}
    result = job.result()
    assert result["mode"] == "distributed" and result["steps"] == EPOCHS
    assert result["finalAccuracy"] == metrics[-1]["accuracy"]


def test_killed_run_resumes_exactly(tmp_path: Path) -> None:
    """Same config twice gives the same weights, even when one run is killed and restarted."""
    cfg = {**CONFIG, "distributed": {"epochs": 8}}
    whole = h.new_job(tmp_path / "whole", cfg)
    job = h.new_job(tmp_path / "killed", cfg)
    uninterrupted, proc = whole.start(0, 1), job.start(0, 1)  # side by side: two cores
    h.wait_until(lambda: len(job.metrics()) >= 3, 60, "epoch 3 in metrics.jsonl")
    h.kill9(proc)
    assert h.finish([uninterrupted])[0][0] == 0
    killed_at = len(job.metrics())
    assert killed_at < 8, "the run ended before the kill; give it more epochs"
    [(code, out)] = h.run(job, 1)
    assert code == 0, out
    assert f"after step {killed_at}" in out or f"after step {killed_at - 1}" in out
    assert [m["step"] for m in job.metrics()] == list(range(1, 9))
    assert h.same_weights(job.weights(), whole.weights())


def test_two_ranks_killed_mid_run_resume_exactly(tmp_path: Path) -> None:
    """The master dies after a checkpoint; the worker leaves on its own with the retry code,
    both restart as the ExitCode policy has them, and the weights equal an uninterrupted run's."""
    cfg = {**CONFIG, "distributed": {"epochs": 6}}
    whole, job = h.new_job(tmp_path / "whole", cfg), h.new_job(tmp_path / "killed", cfg)
    uninterrupted = [whole.start(rank, 2) for rank in range(2)]  # side by side
    master, worker = job.start(0, 2), job.start(1, 2)
    h.wait_until(lambda: len(job.metrics()) >= 2, 60, "epoch 2 in metrics.jsonl")
    h.kill9(master)
    [(code, out)] = h.finish([worker], 30)
    assert code == 129 and "peer lost" in out and "Traceback" not in out, out
    assert [code for code, _ in h.finish(uninterrupted)] == [0, 0]
    killed_at = len(job.metrics())
    assert killed_at < 6, "the run ended before the kill; give it more epochs"
    results = h.run(job, 2)
    assert [code for code, _ in results] == [0, 0], results
    resumed = int(results[0][1].split("after step ")[1].split()[0])
    assert killed_at - 1 <= resumed <= killed_at
    assert [m["step"] for m in job.metrics()] == list(range(1, 7))
    assert [m["lr"] for m in job.metrics()] == [m["lr"] for m in whole.metrics()]
    assert h.same_weights(job.weights(), whole.weights())


@dataclass(frozen=True)
class Ended:
    code: int
    lines: list[tuple[float, str]]  # (seconds from the start, line) as each arrived
    at: float  # seconds from the start when the process ended

    def error_at(self) -> float:
        return next(t for t, line in self.lines if line.startswith("fltk-trainer: error: "))


def _timed(procs: list[subprocess.Popen[str]], timeout: float) -> list[Ended]:
    """Each process's output line by line and its end, timed; a hung process fails the test."""
    start, done = time.monotonic(), [None] * len(procs)

    def watch(i: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        lines = [(time.monotonic() - start, line.rstrip("\n")) for line in proc.stdout]
        done[i] = Ended(proc.wait(), lines, time.monotonic() - start)  # type: ignore[call-overload]

    threads = [threading.Thread(target=watch, args=item) for item in enumerate(procs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(timeout - (time.monotonic() - start), 1))
    if not all(done):
        for proc in procs:
            proc.kill()
        raise AssertionError(f"ranks still running after {timeout} s")
    return done  # type: ignore[return-value]


# Busy CI machines start torch slowly; what matters is what happens after the error.
STARTUP_SECONDS = 180
PROMPT_SECONDS = 5


@pytest.mark.parametrize("mode", ["distributed", "federated"])
def test_a_checkpoint_rank_0_cannot_read_ends_every_rank_with_2(mode: str, tmp_path: Path) -> None:
    """Rank 0 tells the workers before they block on it: all exit 2 together (bad input, which
    ExitCode never retries), not 129 as for a lost peer, which ExitCode would retry."""
    job = h.new_job(tmp_path, CONFIG if mode == "distributed" else h.config())
    job.log_dir.mkdir()
    (job.log_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")
    master, worker = _timed([job.start(0, 2), job.start(1, 2)], STARTUP_SECONDS)
    assert (master.code, worker.code) == (2, 2), (master, worker)
    problem = f"{job.log_dir / 'checkpoint.pt'}: not a trainer checkpoint; delete it to start over"
    assert master.lines[-1][1] == f"fltk-trainer: error: {problem}"
    assert worker.lines[-1][1] == f"fltk-trainer: error: rank 0 cannot resume: {problem}"
    assert not any("Traceback" in line for _, line in master.lines + worker.lines)
    assert abs(master.at - worker.at) < PROMPT_SECONDS, (master.at, worker.at)
    assert all(e.at - e.error_at() < PROMPT_SECONDS for e in (master, worker)), (master, worker)


def test_data_missing_on_every_rank_ends_each_with_2_at_once(tmp_path: Path) -> None:
    """Each rank finds the problem itself and leaves at once: no rank waits in the process
    group's teardown, nor takes another's exit for a lost peer."""
    job = h.new_job(tmp_path, {**CONFIG, "dataset": {"name": "mnist", "source": "files"}})
    ranks = _timed([job.start(0, 2), job.start(1, 2)], STARTUP_SECONDS)
    assert [e.code for e in ranks] == [2, 2], ranks
    missing = f"train-images-idx3-ubyte is missing; put the MNIST files under {job.dir / 'data'}"
    assert all(missing in e.lines[-1][1] for e in ranks), ranks
    assert all(e.at - e.error_at() < PROMPT_SECONDS for e in ranks), ranks
