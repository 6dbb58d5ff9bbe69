"""The server's round loop in one process: behaviour off trains exactly as before, and a
deadline with k of n aggregates exactly the clients that finished in simulated time."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import torch
import trainer_helpers as h
from torch.utils.data import DataLoader

from fltkc.contract.env import read_env
from trainer.config import load_config
from trainer.data import load_dataset, partition_dataset
from trainer.federated.aggregate import Layout, aggregate, flatten
from trainer.federated.client import Executor
from trainer.federated.comm import Order
from trainer.federated.server import LocalPool, Server, sample_clients
from trainer.federated.strategies import build_strategy
from trainer.metrics import Progress, StepRecord
from trainer.models import build_model
from trainer.optim import LrSchedule
from trainer.runtime import Job

ROUNDS = 3
FED = {
    "rounds": ROUNDS,
    "clients": 8,
    "clientsPerRound": 4,
    "localEpochs": 1,
    "strategy": {"name": "fedadam", "serverLr": 0.01, "beta1": 0.9, "beta2": 0.99, "tau": 0.001},
    "partition": {"name": "dirichlet", "alpha": 0.5},
}


def make_job(tmp_path: Path, behaviour: dict[str, Any] | None) -> Job:
    fed = copy.deepcopy(FED)
    if behaviour is not None:
        fed["clientBehaviour"] = behaviour
    spec = h.new_job(
        tmp_path, h.config(federated=fed, scheduler={"name": "exponential", "gamma": 0.9})
    )
    config = load_config(spec.config_path, read_env(spec.env(0, 1)))
    return Job(read_env(spec.env(0, 1)), config, torch.device("cpu"))


def parts_of(job: Job) -> tuple[Any, list[list[int]]]:
    cfg = job.config
    assert cfg.federated is not None
    data = load_dataset(cfg.dataset, job.env.data_dir, True, cfg.seed)
    return data, partition_dataset(data, cfg.federated.clients, cfg.federated.partition, cfg.seed)


def old_loop(job: Job) -> torch.Tensor:
    """The round loop as the server ran it before client behaviour existed."""
    cfg = job.config
    data, parts = parts_of(job)
    strategy = build_strategy(FED["strategy"])
    executor = Executor(job, data, parts, strategy)
    job.reseed("init")
    model = build_model(cfg.model)
    layout, vector = Layout.of(model), flatten(model)
    schedule = LrSchedule(cfg.optimizer, cfg.scheduler)
    for round_ in range(ROUNDS):
        clients = sample_clients(cfg.seed, round_, FED["clients"], FED["clientsPerRound"])
        order = Order(round_, schedule.lr, clients)
        vectors, samples = [], []
        for c in clients:
            samples.append(executor.train(c, order, vector).samples)
            vectors.append(flatten(executor.model))
        vector = aggregate(strategy, layout, vector, vectors, samples)
        schedule.step()
    return vector


def new_loop(job: Job) -> tuple[torch.Tensor, list[Any], list[list[dict[str, Any]]]]:
    cfg = job.config
    data, parts = parts_of(job)
    strategy = build_strategy(FED["strategy"])
    pool = LocalPool(Executor(job, data, parts, strategy))
    test = DataLoader(load_dataset(cfg.dataset, job.env.data_dir, False, cfg.seed), 64)
    server = Server(job, strategy, test, [len(p) for p in parts])
    reporter = Recorder()
    server.run(pool, reporter, 0)  # type: ignore[arg-type]
    return server.vector, reporter.records, reporter.clients


class Recorder:
    """The Reporter's part the server uses, keeping what it is handed."""

    def __init__(self) -> None:
        self.progress = Progress()
        self.records: list[StepRecord] = []
        self.clients: list[list[dict[str, Any]]] = []

    def step_done(
        self, record: StepRecord, states: dict[str, Any], clients: list[dict[str, Any]]
    ) -> None:
        self.progress.update(record)
        self.records.append(record)
        self.clients.append(clients)

    def finish(self) -> None:
        """Nothing to write."""


@pytest.mark.parametrize(
    "behaviour",
    [None, {}, {"secondsPerSample": 0.5, "minResponses": 1, "overSelection": 1.0}],
    ids=["absent", "empty", "ideal-values"],
)
def test_behaviour_off_trains_bit_identically(tmp_path: Path, behaviour: Any) -> None:
    reference = old_loop(make_job(tmp_path / "old", None))
    vector, records, _ = new_loop(make_job(tmp_path / "new", behaviour))
    assert torch.equal(vector, reference)
    assert all(len(r.clients) == 4 and r.attempts == 1 and not r.skipped for r in records)


def test_deadline_with_k_of_n_aggregates_exactly_who_finished_in_time(tmp_path: Path) -> None:
    behaviour = {
        "secondsPerSample": 0.01,
        "speed": {"distribution": "lognormal", "sigma": 1.0},
        "dropout": {"probability": 0.2},
        "deadlineSeconds": 0.6,
        "minResponses": 2,
        "overSelection": 1.5,
    }
    vector, records, clients = new_loop(make_job(tmp_path, behaviour))
    late = dropped = 0
    for record, rows in zip(records, clients, strict=True):
        on_time = sorted(
            (r["simulatedSeconds"], r["client"])
            for r in rows
            if r["status"] != "dropped" and r["simulatedSeconds"] <= 0.6
        )
        expected = sorted(c for _, c in on_time[:4]) if len(on_time) >= 2 else []
        assert record.clients == expected
        assert sorted(r["client"] for r in rows if r["status"] == "aggregated") == expected
        assert len(rows) == 6  # ceil(4 x 1.5) selected
        trained = [r for r in rows if r["computeSeconds"] is not None]
        assert sorted(r["client"] for r in trained) == expected  # only they were trained
        late += sum(r["status"] == "late" for r in rows)
        dropped += sum(r["status"] == "dropped" for r in rows)
        assert record.sim_seconds <= 0.6 + 1e-12
    assert late and dropped, "pick a seed where the deadline and dropouts bite"
    assert records[-1].sim_time == pytest.approx(sum(r.sim_seconds for r in records))


GOLDEN = h.ROOT / "tests" / "golden"


def test_every_golden_federated_config_loads_and_plans_in_the_trainer(tmp_path: Path) -> None:
    """What compiles, runs: each federated config the compiler wrote passes the trainer's own
    checks, and its client behaviour plans a round."""
    import yaml

    from trainer.federated.behaviour import Behaviour
    from trainer.federated.rounds import Simulator

    seen = 0
    for path in sorted(GOLDEN.glob("*/configmap-*-config.yaml")):
        raw = yaml.safe_load(path.read_text())["data"]["config.json"]
        config = json.loads(raw)
        if config["mode"] != "federated":
            continue
        spec = h.new_job(tmp_path / path.stem, config)
        loaded = load_config(spec.config_path, read_env(spec.env(0, 1)))
        fed = loaded.federated
        assert fed is not None
        sim = Simulator(
            Behaviour.of(fed.client_behaviour), loaded.seed, [10] * fed.clients,
            fed.clients_per_round, fed.local_epochs, 1000,
        )  # fmt: skip
        assert sim.plan(0, 0.0).attempts
        seen += 1
    assert seen >= 20
