"""The federated server (rank 0): plans the round, sends the model, aggregates, evaluates."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader

from trainer.federated.aggregate import Layout, aggregate, flatten, load_vector
from trainer.federated.behaviour import Behaviour
from trainer.federated.client import Executor
from trainer.federated.comm import ClientResult, Order, ServerComm
from trainer.federated.records import client_records
from trainer.federated.rounds import Simulator, select_clients
from trainer.federated.strategies import Strategy
from trainer.loops import evaluate
from trainer.metrics import StepRecord
from trainer.models import build_model
from trainer.optim import LrSchedule, build_loss
from trainer.runtime import Job, Reporter, eval_due


def sample_clients(seed: int, round_: int, clients: int, per_round: int) -> tuple[int, ...]:
    """The round's clients when every client is available: a seeded draw, ascending."""
    return select_clients(seed, round_, per_round, np.ones(clients, dtype=bool))


class Pool(Protocol):
    def run(self, order: Order, vector: torch.Tensor) -> tuple[list[ClientResult], int]: ...

    def close(self) -> None: ...


class LocalPool:
    """WORLD_SIZE=1: the server process trains every client itself; nothing crosses a wire."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def run(self, order: Order, vector: torch.Tensor) -> tuple[list[ClientResult], int]:
        return [self.executor.train(c, order, vector) for c in order.clients], 0

    def close(self) -> None:
        """Nothing to stop."""


class RemotePool:
    """WORLD_SIZE>1: executors on ranks 1.. train the clients they host."""

    def __init__(self, comm: ServerComm) -> None:
        self.comm = comm

    def run(self, order: Order, vector: torch.Tensor) -> tuple[list[ClientResult], int]:
        if not order.clients:
            return [], 0  # nothing to train: the executors wait for the next order
        sent = self.comm.send_order(order, vector)
        results, received = self.comm.collect(order.clients)
        return results, sent + received

    def close(self) -> None:
        self.comm.stop()


class Server:
    def __init__(
        self, job: Job, strategy: Strategy, test_loader: DataLoader[Any], sizes: Sequence[int]
    ) -> None:
        """`sizes`: each client's training samples, which its simulated time follows."""
        self.job = job
        self.strategy = strategy
        self.test_loader = test_loader
        job.reseed("init")
        self.model = build_model(job.config.model).to(job.device)
        self.layout = Layout.of(self.model)
        self.schedule = LrSchedule(job.config.optimizer, job.config.scheduler)
        self.loss_fn = build_loss(job.config.loss)
        self.vector = flatten(self.model)
        fed = job.config.federated
        assert fed is not None
        behaviour = Behaviour.of(fed.client_behaviour)
        model_bytes = self.layout.size * self.vector.element_size()
        self.simulator = Simulator(
            behaviour, job.config.seed, sizes, fed.clients_per_round, fed.local_epochs, model_bytes
        )

    def restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.vector = flatten(self.model)
        self.strategy.load_state_dict(ckpt["strategy"])
        self.schedule.load_state_dict(ckpt["scheduler"])

    def states(self) -> dict[str, Any]:
        load_vector(self.model, self.vector.to(self.job.device))
        return {
            "model": self.model.state_dict(),
            "strategy": self.strategy.state_dict(),
            "scheduler": self.schedule.state_dict(),
        }

    def run(self, pool: Pool, reporter: Reporter, start: int) -> None:
        assert self.job.config.federated is not None
        for round_ in range(start, self.job.config.federated.rounds):
            record, clients = self.round(round_, pool, reporter)
            reporter.step_done(record, self.states(), clients)
        pool.close()
        reporter.finish()

    def round(
        self, round_: int, pool: Pool, reporter: Reporter
    ) -> tuple[StepRecord, list[dict[str, Any]]]:
        """Plan the round in simulated time, train only the clients whose updates count."""
        cfg = self.job.config
        started = time.monotonic()
        clock = reporter.progress.sim_time
        plan = self.simulator.plan(round_, clock)
        clients = plan.aggregated
        order = Order(round_, self.schedule.lr, clients)
        results, moved = pool.run(order, self.vector)
        self.vector = self.aggregate(results)
        self.schedule.step()
        sums = None
        if eval_due(cfg, round_ + 1):
            load_vector(self.model, self.vector.to(self.job.device))
            sums = evaluate(self.model, self.test_loader, self.loss_fn, self.job.device)
        record = StepRecord(
            kind="round",
            step=round_ + 1,
            loss=None if sums is None else sums.mean_loss,
            accuracy=None if sums is None else sums.accuracy,
            train_loss=sum(r.loss_sum for r in results) / max(sum(r.count for r in results), 1),
            seconds=time.monotonic() - started,
            bytes=moved,
            lr=order.lr,
            time=reporter.progress.elapsed(),
            clients=list(clients),
            sim_seconds=plan.seconds,
            sim_time=clock + plan.seconds,
            attempts=len(plan.attempts),
            skipped=plan.skipped,
        )
        return record, client_records(round_ + 1, plan, results)

    def aggregate(self, results: Sequence[ClientResult]) -> torch.Tensor:
        vectors = [r.vector for r in results]
        samples = [r.samples for r in results]
        return aggregate(self.strategy, self.layout, self.vector, vectors, samples)
