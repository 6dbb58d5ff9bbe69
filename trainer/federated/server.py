"""The federated server (rank 0): samples clients, sends the model, aggregates, evaluates."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

import torch
from torch.utils.data import DataLoader

from trainer.federated.aggregate import Layout, aggregate, flatten, load_vector
from trainer.federated.client import Executor
from trainer.federated.comm import ClientResult, Order, ServerComm
from trainer.federated.strategies import Strategy
from trainer.loops import evaluate
from trainer.metrics import StepRecord
from trainer.models import build_model
from trainer.optim import LrSchedule, build_loss
from trainer.runtime import Job, Reporter, eval_due
from trainer.seeding import derive_seed, generator


def sample_clients(seed: int, round_: int, clients: int, per_round: int) -> tuple[int, ...]:
    """The round's clients: a seeded draw without replacement, in ascending order."""
    draw = torch.randperm(clients, generator=generator(derive_seed(seed, "select", round_)))
    return tuple(sorted(draw[:per_round].tolist()))


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
        sent = self.comm.send_order(order, vector)
        results, received = self.comm.collect(order.clients)
        return results, sent + received

    def close(self) -> None:
        self.comm.stop()


class Server:
    def __init__(self, job: Job, strategy: Strategy, test_loader: DataLoader[Any]) -> None:
        self.job = job
        self.strategy = strategy
        self.test_loader = test_loader
        job.reseed("init")
        self.model = build_model(job.config.model).to(job.device)
        self.layout = Layout.of(self.model)
        self.schedule = LrSchedule(job.config.optimizer, job.config.scheduler)
        self.loss_fn = build_loss(job.config.loss)
        self.vector = flatten(self.model)

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
            reporter.step_done(self.round(round_, pool, reporter), self.states())
        pool.close()
        reporter.finish()

    def round(self, round_: int, pool: Pool, reporter: Reporter) -> StepRecord:
        cfg, fed = self.job.config, self.job.config.federated
        assert fed is not None
        started = time.monotonic()
        clients = sample_clients(cfg.seed, round_, fed.clients, fed.clients_per_round)
        order = Order(round_, self.schedule.lr, clients)
        results, moved = pool.run(order, self.vector)
        self.vector = self.aggregate(results)
        self.schedule.step()
        sums = None
        if eval_due(cfg, round_ + 1):
            load_vector(self.model, self.vector.to(self.job.device))
            sums = evaluate(self.model, self.test_loader, self.loss_fn, self.job.device)
        return StepRecord(
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
        )

    def aggregate(self, results: Sequence[ClientResult]) -> torch.Tensor:
        vectors = [r.vector for r in results]
        samples = [r.samples for r in results]
        return aggregate(self.strategy, self.layout, self.vector, vectors, samples)
