"""The floor: one process, a bare sequential PyTorch FedAvg loop doing the federated work."""

from __future__ import annotations

import argparse
import time
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


def average(states: list[dict[str, Any]], weights: list[int]) -> dict[str, Any]:
    """FedAvg: the sample-weighted mean of the clients' states."""
    total = sum(weights)
    return {
        name: sum(s[name] * (w / total) for s, w in zip(states, weights, strict=True))
        for name in states[0]
    }


def run(spec: Spec) -> dict[str, Any]:
    import copy

    from torch.utils.data import DataLoader

    from trainer.federated.server import sample_clients

    train, test, parts = load_split(spec)
    test_batches = DataLoader(test, batch_size=spec.test_batch)
    model = new_model(spec)
    seconds: list[float] = []
    accuracies: list[float] = []
    for round_ in range(spec.rounds):
        started = time.perf_counter()
        global_state = copy.deepcopy(model.state_dict())
        states, weights = [], []
        for client in sample_clients(spec.seed, round_, spec.clients, spec.per_round):
            model.load_state_dict(global_state)
            batches = client_loader(spec, train, parts[client], round_, client)
            local_train(model, batches, spec.lr, spec.local_epochs)
            states.append(copy.deepcopy(model.state_dict()))
            weights.append(len(parts[client]))
        model.load_state_dict(average(states, weights))
        accuracies.append(accuracy(model, test_batches))
        seconds.append(time.perf_counter() - started)
    return {"contender": "floor", "roundSeconds": seconds, "accuracy": accuracies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_spec_args(parser)
    emit(run(spec_from(parser.parse_args())))


if __name__ == "__main__":
    main()
