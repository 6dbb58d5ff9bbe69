"""Trainer figures in one run: our DDP step against a bare torch DDP loop (2 gloo ranks), and
federated rounds per second (100 clients, 10 per round, MNIST CNN) as real trainer processes.

    python bench/trainer_bench.py [--steps 30] [--rounds 6] [--samples 6000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BATCH = 32


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ddp_worker(rank: int, port: int, steps: int, repeats: int, out: Any) -> None:
    """One rank: time the bare loop and the trainer's train_epoch on the same batches, in turns."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from trainer.loops import train_epoch
    from trainer.models import build_model
    from trainer.optim import build_loss

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    torch.manual_seed(0)
    model = DistributedDataParallel(build_model("mnist-cnn"))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(rank)
    batches = [
        (
            torch.randn(BATCH, 1, 28, 28, generator=gen),
            torch.randint(0, 10, (BATCH,), generator=gen),
        )
        for _ in range(steps)
    ]
    loss_fn = build_loss("cross-entropy")
    ce = torch.nn.CrossEntropyLoss()

    def bare() -> None:
        model.train()
        for x, y in batches:
            opt.zero_grad(set_to_none=True)
            ce(model(x), y).backward()
            opt.step()

    def ours() -> None:
        train_epoch(model, batches, opt, loss_fn, torch.device("cpu"))

    times: dict[str, list[float]] = {"bare": [], "ours": []}
    for _ in range(repeats + 1):  # the first pair warms up and is dropped
        for name, fn in (("bare", bare), ("ours", ours)):
            dist.barrier()
            start = time.perf_counter()
            fn()
            dist.barrier()
            times[name].append((time.perf_counter() - start) / steps)
    if rank == 0:
        out.put({k: statistics.median(v[1:]) for k, v in times.items()})
    dist.destroy_process_group()


def ddp_figures(steps: int, repeats: int) -> dict[str, float]:
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    port = _free_port()
    procs = [ctx.Process(target=_ddp_worker, args=(r, port, steps, repeats, queue)) for r in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    result: dict[str, float] = queue.get()
    return result


def _config(rounds: int, samples: int) -> dict[str, Any]:
    return {
        "apiVersion": "fltkc.dev/v1alpha1",
        "kind": "TrainerConfig",
        "job": {"experiment": "bench", "task": "fed", "name": "bench-fed"},
        "seed": 1,
        "mode": "federated",
        "device": "cpu",
        "dataset": {"name": "mnist", "source": "synthetic", "trainSamples": samples,
                    "testSamples": 1000},
        "model": {"name": "mnist-cnn"},
        "batchSize": BATCH,
        "optimizer": {"name": "sgd", "lr": 0.05},
        "loss": "cross-entropy",
        "federated": {"rounds": rounds, "clients": 100, "clientsPerRound": 10, "localEpochs": 1,
                      "strategy": {"name": "fedavg"}, "partition": {"name": "iid"}},
        "checkpoint": {"enabled": False},
    }  # fmt: skip


def federated_figures(world_size: int, rounds: int, samples: int) -> dict[str, float]:
    """Real `python -m trainer` ranks; the rate comes from the rounds' own timings (startup out)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path, logs = Path(tmp) / "config.json", Path(tmp) / "logs"
        cfg_path.write_text(json.dumps(_config(rounds, samples)))
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()),
                   WORLD_SIZE=str(world_size), FLTK_CONFIG=str(cfg_path), FLTK_LOG_DIR=str(logs),
                   FLTK_DATA_DIR=tmp, FLTK_JOB_NAME="bench-fed", FLTK_SEED="1",
                   OMP_NUM_THREADS="1")  # fmt: skip
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "trainer"], cwd=ROOT, env={**env, "RANK": str(r)}
            )
            for r in range(world_size)
        ]
        if any(p.wait() != 0 for p in procs):
            raise SystemExit("a trainer rank failed")
        lines = (logs / "metrics.jsonl").read_text().splitlines()
        seconds = [json.loads(line)["seconds"] for line in lines][1:]  # round 1 warms up
        last = json.loads(lines[-1])
    return {
        "roundsPerSecond": 1 / statistics.mean(seconds),
        "bytesPerRound": float(last["bytes"]),
        "accuracy": float(last["accuracy"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="DDP steps per timed pass")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per contender")
    parser.add_argument("--rounds", type=int, default=6, help="federated rounds per run")
    parser.add_argument("--samples", type=int, default=6000, help="synthetic MNIST train samples")
    args = parser.parse_args()
    ddp = ddp_figures(args.steps, args.repeats)
    print(f"DDP step, mnist-cnn, batch {BATCH}, world size 2 (gloo, CPU, 1 thread per rank):")
    print(f"  bare torch DDP loop   {ddp['bare'] * 1e3:8.2f} ms/step")
    print(f"  trainer train_epoch   {ddp['ours'] * 1e3:8.2f} ms/step")
    print(f"  ratio ours/bare       {ddp['ours'] / ddp['bare']:8.3f}  (target <= 1.05)")
    per_client = args.samples // 100
    print(f"Federated FedAvg, mnist-cnn, 100 clients x {per_client} synthetic samples, "
          f"10 per round, 1 local epoch, batch {BATCH}, eval on 1000 every round, "
          "1 thread per rank:")  # fmt: skip
    for world_size in (1, 3):
        fed = federated_figures(world_size, args.rounds, args.samples)
        rate, mb = fed["roundsPerSecond"], fed["bytesPerRound"] / 1e6
        print(f"  WORLD_SIZE={world_size}  {rate:6.2f} rounds/s  {mb:7.1f} MB/round  "
              f"accuracy {fed['accuracy']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
