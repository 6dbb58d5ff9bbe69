"""Achieved FLOP/s of our client training and central evaluation against a plain float32 matmul
on the same cores, one process, each at 1 thread and at every core; and the seconds the
cluster model in docs/benchmarks.md starts from (per client, per evaluation, per float64 add).

FLOPs are torch's own count (torch.utils.flop_counter: convolutions and matrix products,
forward and backward) of one batch, per sample; the work is the trainer's Executor training
real clients of the experiment and its evaluation of the test set."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Spec, add_spec_args, emit, spec_from
from fltk_fed_bench import free_port, replica_env, trainer_config


def counted_flops(train: bool, batch: int) -> float:
    """FLOPs per sample of one training step (forward and backward) or one evaluation pass."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from trainer.models import build_model
    from trainer.optim import build_loss

    model, loss_fn = build_model("mnist-cnn"), build_loss("cross-entropy")
    inputs, targets = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        if train:
            loss_fn(model(inputs), targets).backward()
        else:
            with torch.no_grad():
                model(inputs)
    return float(counter.get_total_flops()) / batch


def matmul_flops(seconds: float = 1.0, n: int = 2048) -> float:
    """FLOP/s of repeated n x n float32 matrix products, the best of several timings."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline or best == float("inf"):
        started = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best


def trainer_parts(spec: Spec, work: Path) -> tuple[Any, Any, Any, Any]:
    """The trainer's Executor for this experiment, and the test set and model for evaluation."""
    import json

    import torch

    from fltkc import contract
    from fltkc.contract.env import read_env
    from trainer.config import load_config
    from trainer.data import load_dataset, partition_dataset
    from trainer.federated.client import Executor
    from trainer.federated.strategies import build_strategy
    from trainer.runtime import Job

    (work / contract.CONFIG_KEY).write_text(json.dumps(trainer_config(spec)), encoding="utf-8")
    env = read_env(replica_env(spec, work, 1, 0, free_port()))
    config = load_config(env.config_path, env)
    job = Job(env, config, torch.device("cpu"))
    train = load_dataset(config.dataset, env.data_dir, True, spec.seed)
    test = load_dataset(config.dataset, env.data_dir, False, spec.seed)
    parts = partition_dataset(train, spec.clients, spec.partition, spec.seed)
    executor = Executor(job, train, parts, build_strategy({"name": "fedavg"}))
    return executor, test, parts, job


def measure(spec: Spec, threads: int, rounds: int) -> dict[str, float]:
    """Seconds of the trainer's client training (rounds after a warm-up one) and evaluation."""
    import torch
    from torch.utils.data import DataLoader

    from trainer.federated.aggregate import Partial, flatten
    from trainer.federated.comm import Order
    from trainer.federated.server import sample_clients
    from trainer.loops import evaluate

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="fltk-flops-") as tmp:
        executor, test, parts, job = trainer_parts(spec, Path(tmp))
    vector = flatten(executor.model)
    train_seconds, samples, clients = 0.0, 0, 0
    for round_ in range(rounds + 1):
        chosen = sample_clients(spec.seed, round_, spec.clients, spec.per_round)
        started = time.perf_counter()
        executor.run(Order(round_, spec.lr, chosen), vector, chosen)
        if round_ > 0:  # round 0 creates the kernels for new shapes
            train_seconds += time.perf_counter() - started
            samples += sum(len(parts[c]) for c in chosen)
            clients += len(chosen)
    partial, adds = Partial(executor.layout), 20
    started = time.perf_counter()
    for _ in range(adds):
        partial.add(executor.model, 1)
    add_seconds = (time.perf_counter() - started) / adds
    batches = DataLoader(test, batch_size=spec.test_batch)
    evaluate(executor.model, batches, executor.loss_fn, job.device)
    started = time.perf_counter()
    evaluate(executor.model, batches, executor.loss_fn, job.device)
    return {
        "trainSeconds": train_seconds,
        "trainSamples": samples,
        "clientSeconds": train_seconds / clients,
        "addSeconds": add_seconds,  # one model added into a float64 sum
        "evalSeconds": time.perf_counter() - started,
        "evalSamples": len(test),
        "matmulFlops": matmul_flops(),
    }


def main() -> None:
    import trainer.__main__  # noqa: F401  (the trainer's OpenMP setting, before torch loads)

    parser = argparse.ArgumentParser(description=__doc__)
    add_spec_args(parser)
    parser.add_argument("--threads", default=f"1,{os.cpu_count() or 1}")
    args = parser.parse_args()
    spec = spec_from(args)
    per_sample = {
        "trainFlopsPerSample": counted_flops(True, spec.batch) * spec.local_epochs,
        "evalFlopsPerSample": counted_flops(False, spec.test_batch),
    }
    runs = {t: measure(spec, int(t), args.rounds) for t in dict.fromkeys(args.threads.split(","))}
    emit({**per_sample, "threads": runs})


if __name__ == "__main__":
    main()
