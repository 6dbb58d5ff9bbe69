"""Flower's simulation engine (Ray) running the same FedAvg experiment; runs in bench/.venv."""

from __future__ import annotations

import argparse
import os
import random
import time
from functools import lru_cache
from typing import Any

from common import (
    Spec,
    accuracy,
    add_spec_args,
    client_loader,
    emit,
    load_split,
    local_train,
    new_model,
    spec_from,
)

# Flower posts usage events to its servers unless told not to; this machine has no route there.
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")

# Filled in the ServerApp's thread of this process while the simulation runs.
TIMES: list[float] = []
ACCURACY: list[float] = []
FAILED: list[str] = []


@lru_cache(maxsize=1)
def split(spec: Spec) -> tuple[Any, Any, list[list[int]]]:
    """Loaded once per Ray actor process, as Flower's own examples cache their partitions."""
    return load_split(spec)


def client_app(spec: Spec) -> Any:
    from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        train_set, _, parts = split(spec)
        client = int(context.node_config["partition-id"])
        round_ = int(msg.content["config"]["server-round"]) - 1
        model = new_model(spec)
        model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
        batches = client_loader(spec, train_set, parts[client], round_, client)
        local_train(model, batches, spec.lr, spec.local_epochs)
        content = RecordDict(
            {
                "arrays": ArrayRecord(model.state_dict()),
                "metrics": MetricRecord({"num-examples": len(parts[client])}),
            }
        )
        return Message(content=content, reply_to=msg)

    return app


def server_app(spec: Spec) -> Any:
    from flwr.app import ArrayRecord, Context, MetricRecord
    from flwr.serverapp import Grid, ServerApp
    from flwr.serverapp.strategy import FedAvg
    from torch.utils.data import DataLoader

    class CheckedFedAvg(FedAvg):
        """FedAvg that notes failed client replies, which stock FedAvg only logs."""

        def aggregate_train(self, server_round: int, replies: Any) -> Any:
            replies = list(replies)
            FAILED.extend(str(r.error) for r in replies if r.has_error())
            return super().aggregate_train(server_round, replies)

    app = ServerApp()
    model = new_model(spec)
    test_batches = DataLoader(split(spec)[1], batch_size=spec.test_batch)

    def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        # Round 0 is Flower's evaluation of the initial model, which the others do not run.
        if server_round > 0:
            model.load_state_dict(arrays.to_torch_state_dict())
            ACCURACY.append(accuracy(model, test_batches))
        TIMES.append(time.perf_counter())
        return None if server_round == 0 else MetricRecord({"accuracy": ACCURACY[-1]})

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        random.seed(spec.seed)  # FedAvg samples nodes with the random module
        strategy = CheckedFedAvg(
            fraction_train=spec.per_round / spec.clients,
            fraction_evaluate=0.0,
            min_train_nodes=spec.per_round,
            min_available_nodes=spec.clients,
        )
        initial = ArrayRecord(model.state_dict())
        strategy.start(grid, initial, num_rounds=spec.rounds, evaluate_fn=evaluate)

    return app


def run(spec: Spec, actors: int) -> dict[str, Any]:
    """`actors` Ray actors train clients in parallel: each client asks cores / actors CPUs."""
    from flwr.simulation import run_simulation

    cores = os.cpu_count() or 1
    backend = {
        "init_args": {"num_cpus": cores, "include_dashboard": False, "log_to_driver": False},
        "client_resources": {"num_cpus": cores / actors, "num_gpus": 0.0},
    }
    run_simulation(server_app(spec), client_app(spec), spec.clients, backend_config=backend)
    if FAILED or len(ACCURACY) != spec.rounds:
        first = FAILED[0] if FAILED else "no error reported"
        raise SystemExit(
            f"flower: {len(ACCURACY)} of {spec.rounds} rounds, {len(FAILED)} failed"
            f" client replies; first: {first}"
        )
    seconds = [b - a for a, b in zip(TIMES, TIMES[1:], strict=False)]
    return {"contender": "flower", "actors": actors, "roundSeconds": seconds, "accuracy": ACCURACY}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_spec_args(parser)
    parser.add_argument("--actors", type=int, default=2, help="Ray actors training in parallel")
    args = parser.parse_args()
    emit(run(spec_from(args), args.actors))


if __name__ == "__main__":
    # Ray pickles the apps' functions by reference to their module, which must not be __main__.
    import flower_bench

    flower_bench.main()
