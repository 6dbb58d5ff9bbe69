"""Launch real `python -m trainer` processes the way the training operator starts replicas."""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[2]
SEED = 7

BASE: dict[str, Any] = {
    "apiVersion": "fltkc.dev/v1alpha1",
    "kind": "TrainerConfig",
    "job": {"experiment": "exp", "task": "task", "name": "job-0"},
    "seed": SEED,
    "mode": "federated",
    "dataset": {"name": "mnist", "source": "synthetic", "trainSamples": 256, "testSamples": 128},
    "model": {"name": "mnist-cnn"},
    "batchSize": 32,
    "optimizer": {"name": "sgd", "lr": 0.05},
    "loss": "cross-entropy",
    "federated": {
        "rounds": 3,
        "clients": 6,
        "clientsPerRound": 3,
        "localEpochs": 1,
        "strategy": {"name": "fedavg"},
        "partition": {"name": "iid"},
    },
}


def config(**changes: Any) -> dict[str, Any]:
    """BASE with top-level keys replaced; `distributed=` switches the mode."""
    cfg = copy.deepcopy(BASE)
    if "distributed" in changes:
        cfg["mode"] = "distributed"
        del cfg["federated"]
    cfg.update(copy.deepcopy(changes))
    return cfg


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Job:
    """One job's files: its config and its log directory."""

    dir: Path
    port: int
    seed: int = SEED

    @property
    def config_path(self) -> Path:
        return self.dir / "config.json"

    @property
    def log_dir(self) -> Path:
        return self.dir / "logs"

    def env(self, rank: int, world_size: int, **extra: str) -> dict[str, str]:
        """Exactly what the operator and the compiler set, plus single-threaded torch."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLTK_", "MASTER_"))}
        env.update(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(self.port),
            WORLD_SIZE=str(world_size),
            RANK=str(rank),
            PYTHONUNBUFFERED="1",
            OMP_NUM_THREADS="1",
            FLTK_CONFIG=str(self.config_path),
            FLTK_LOG_DIR=str(self.log_dir),
            FLTK_DATA_DIR=str(self.dir / "data"),
            FLTK_JOB_NAME="job-0",
            FLTK_SEED=str(self.seed),
        )
        env.update(extra)
        return env

    def start(self, rank: int, world_size: int, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "trainer"],
            cwd=ROOT,
            env=self.env(rank, world_size, **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def metrics(self) -> list[dict[str, Any]]:
        path = self.log_dir / "metrics.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def result(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.log_dir / "result.json").read_text())
        return data

    def tensorboard(self) -> dict[str, list[int]]:
        """Each TensorBoard tag's steps, as TensorBoard shows them (purged events left out)."""
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        acc = EventAccumulator(
            str(self.log_dir / "tensorboard"), size_guidance={"scalars": 0, "histograms": 0}
        )
        acc.Reload()
        tags = acc.Tags()
        steps = {tag: [e.step for e in acc.Scalars(tag)] for tag in tags["scalars"]}
        steps |= {tag: [e.step for e in acc.Histograms(tag)] for tag in tags["histograms"]}
        return steps

    def weights(self) -> dict[str, torch.Tensor]:
        ckpt = torch.load(self.log_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
        model: dict[str, torch.Tensor] = ckpt["model"]
        return model


def new_job(dir: Path, cfg: dict[str, Any]) -> Job:
    dir.mkdir(parents=True, exist_ok=True)
    job = Job(dir, free_port(), cfg.get("seed", SEED))
    job.config_path.write_text(json.dumps(cfg))
    return job


def finish(procs: Sequence[subprocess.Popen[str]], timeout: float = 90) -> list[tuple[int, str]]:
    """Wait for every process; (exit code, output) each. A hung process is killed and fails."""
    out = []
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            text, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            proc.kill()
            text, _ = proc.communicate()
            raise AssertionError(f"trainer rank hung past {timeout} s:\n{text}") from None
        out.append((proc.returncode, text))
    return out


def run(job: Job, world_size: int, timeout: float = 90) -> list[tuple[int, str]]:
    """All ranks of one job, master first as the operator would start them (in any order)."""
    return finish([job.start(rank, world_size) for rank in range(world_size)], timeout)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def kill9(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
