"""Distributed (DDP) jobs as real `python -m trainer` processes over gloo on loopback."""

from __future__ import annotations

import json
import time
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
