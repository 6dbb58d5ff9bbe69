"""What compiles, runs: each strategy, compiled with its defaults, trains two federated rounds."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from contract_support import FEDERATED, compile_tasks, load_as_trainer, task, trainer_env, write_job

from fltkc.compile.expand import Job, Plan
from fltkc.contract import catalog
from trainer.__main__ import main
from trainer.data import load_dataset, partition_dataset
from trainer.federated.aggregate import flatten
from trainer.federated.client import Executor
from trainer.federated.comm import Order
from trainer.federated.strategies import build_strategy
from trainer.models import build_model
from trainer.runtime import Job as RunJob

TINY = {"name": "mnist", "source": "synthetic", "trainSamples": 64, "testSamples": 32}


@pytest.fixture(autouse=True)
def _restore_torch_flags() -> Iterator[None]:
    # main() switches torch to deterministic kernels for the whole process.
    yield
    torch.use_deterministic_algorithms(False)


@pytest.fixture(scope="module")
def plan() -> Plan:
    """One task per strategy, each naming the strategy and nothing else: catalog defaults."""
    tasks = [
        task(
            name, "federated", "mnist-cnn", TINY, federated=FEDERATED | {"strategy": {"name": name}}
        )
        for name in catalog.STRATEGIES
    ]
    return compile_tasks(tasks)


def _job(plan: Plan, task_name: str) -> Job:
    return next(job for job in plan.jobs if job.task == task_name)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", list(catalog.STRATEGIES))
def test_every_strategy_runs_two_rounds_with_its_defaults(
    strategy: str,
    plan: Plan,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = _job(plan, strategy)
    assert job.config["federated"]["strategy"] == {"name": strategy} | catalog.STRATEGIES[strategy]
    path, _ = write_job(job, tmp_path)
    for key, value in trainer_env(path.parent, job.seed).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # leaves torch's thread count as it is
    assert main() == 0, capsys.readouterr().err
    logs = path.parent / "logs"
    rounds = [json.loads(line) for line in (logs / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rounds] == [1, 2]
    assert all(len(r["clients"]) == 2 and math.isfinite(r["trainLoss"]) for r in rounds)
    assert math.isfinite(rounds[-1]["loss"]) and 0 <= rounds[-1]["accuracy"] <= 1
    assert json.loads((logs / "result.json").read_text())["status"] == "succeeded"


def test_fedadagrad_with_defaults_compiles_and_runs(plan: Plan, tmp_path: Path) -> None:
    """Until the catalog, its config had no beta1 and every pod exited 2."""
    config = load_as_trainer(_job(plan, "fedadagrad"), tmp_path)
    assert config.federated is not None and config.federated.strategy["beta1"] == 0.0
    # The run itself is the fedadagrad case above.


def _client_drift(run_job: RunJob, mu: float, global_vector: torch.Tensor) -> float:
    """How far client 0 moves from the global model in one round of local training."""
    cfg = run_job.config
    assert cfg.federated is not None
    train_set = load_dataset(cfg.dataset, run_job.env.data_dir, True, cfg.seed)
    parts = partition_dataset(train_set, cfg.federated.clients, cfg.federated.partition, cfg.seed)
    strategy = build_strategy({"name": "fedprox", "mu": mu})
    executor = Executor(run_job, train_set, parts, strategy)
    executor.train(0, Order(round=0, lr=0.05, clients=(0,)), global_vector)
    return float((flatten(executor.model) - global_vector).norm())  # the model holds client 0


def test_fedprox_keeps_clients_near_the_global_model(tmp_path: Path) -> None:
    """Li et al. 2020: the proximal term (mu / 2) ||w - w_global||^2 pulls local training back;
    same job, same seeds, same data, only mu differs."""
    # 16 samples per client in batches of 4: four local steps, enough for mu to show.
    federated = FEDERATED | {"strategy": {"name": "fedprox", "mu": 10}}
    fields = {"batchSize": 4, "federated": federated}
    (job,) = compile_tasks([task("prox", "federated", "mnist-cnn", TINY, **fields)]).jobs
    path, env = write_job(job, tmp_path)
    config = load_as_trainer(job, tmp_path)
    run_job = RunJob(env=env, config=config, device=torch.device("cpu"))
    mu = build_strategy(config.federated.strategy).proximal_mu if config.federated else 0.0
    assert mu == 10
    torch.manual_seed(0)
    global_vector = flatten(build_model(config.model))
    free, proximal = (_client_drift(run_job, m, global_vector) for m in (0.0, mu))
    assert free > 0 and proximal < 0.5 * free, (free, proximal)
    # The same run again gives the same numbers: the difference is mu's, not the seeds'.
    assert _client_drift(run_job, 0.0, global_vector) == free
