"""Our federated trainer run as a user runs it: `python -m trainer` processes with the
operator's env (server rank 0, executors on ranks 1..) and a config per the trainer schema."""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, Spec, add_spec_args, emit, spec_from

from fltkc import contract


def trainer_config(spec: Spec) -> dict[str, Any]:
    """The job's config.json, every optional field left to the schema's defaults."""
    import jsonschema

    from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema

    config = {
        "apiVersion": "fltkc.dev/v1alpha1",
        "kind": "TrainerConfig",
        "job": {"experiment": "bench", "task": "fedavg", "name": "bench-fedavg"},
        "seed": spec.seed,
        "mode": "federated",
        "device": "cpu",
        "dataset": spec.dataset,
        "model": {"name": "mnist-cnn"},
        "batchSize": spec.batch,
        "testBatchSize": spec.test_batch,
        "optimizer": {"name": "sgd", "lr": spec.lr},
        "loss": "cross-entropy",
        "federated": {
            "rounds": spec.rounds,
            "clients": spec.clients,
            "clientsPerRound": spec.per_round,
            "localEpochs": spec.local_epochs,
            "strategy": {"name": "fedavg"},
            "partition": spec.partition,
        },
        "evaluation": {"every": 1},
    }
    jsonschema.validate(config, load_schema(TRAINER_CONFIG_SCHEMA))
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def replica_env(spec: Spec, work: Path, world_size: int, rank: int, port: int) -> dict[str, str]:
    """The operator's and the compiler's variables; threads split as `fltkc run` splits them."""
    threads = max(1, (os.cpu_count() or 1) // world_size)
    return {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "PYTHONPATH": str(ROOT),
        contract.ENV_MASTER_ADDR: "127.0.0.1",
        contract.ENV_MASTER_PORT: str(port),
        contract.ENV_WORLD_SIZE: str(world_size),
        contract.ENV_RANK: str(rank),
        contract.ENV_CONFIG: str(work / contract.CONFIG_KEY),
        contract.ENV_LOG_DIR: str(work / "logs"),
        contract.ENV_DATA_DIR: str(work / "data"),
        contract.ENV_JOB_NAME: "bench-fedavg",
        contract.ENV_SEED: str(spec.seed),
    }


def launch(spec: Spec, work: Path, world_size: int) -> float:
    """Start every replica, wait for all; the wall seconds from the first start to the last exit."""
    (work / contract.CONFIG_KEY).write_text(json.dumps(trainer_config(spec)), encoding="utf-8")
    (work / "data").mkdir()
    port = free_port()
    argv = [sys.executable, "-m", "trainer"]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(argv, cwd=work, env=replica_env(spec, work, world_size, rank, port))
        for rank in range(world_size)
    ]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"fltk: trainer ranks exited with {codes}")
    return wall


def run(spec: Spec, world_size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fltk-bench-") as tmp:
        work = Path(tmp)
        wall = launch(spec, work, world_size)
        lines = (work / "logs" / contract.METRICS_FILE).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    if len(records) != spec.rounds:
        raise SystemExit(f"fltk: metrics.jsonl holds {len(records)} of {spec.rounds} rounds")
    return {
        "contender": "fltk",
        "worldSize": world_size,
        "wallSeconds": wall,
        "roundSeconds": [r["seconds"] for r in records],
        "accuracy": [r["accuracy"] for r in records],
        "bytes": [r["bytes"] for r in records],
        "bytesIn": [r["bytesIn"] for r in records],
        "vectorsIn": [r["vectorsIn"] for r in records],
        "vectorBytes": 4 * model_size(),
    }


def model_size() -> int:
    """Elements of the model's flat vector: what one float32 model vector holds."""
    from trainer.federated.aggregate import Layout
    from trainer.models import build_model

    return Layout.of(build_model("mnist-cnn")).size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_spec_args(parser)
    parser.add_argument("--world-size", type=int, default=1, help="1 + executor processes")
    args = parser.parse_args()
    emit(run(spec_from(args), args.world_size))


if __name__ == "__main__":
    main()
