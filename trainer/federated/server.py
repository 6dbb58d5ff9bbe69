"""The federated server (rank 0): plans the round, sends the model, aggregates, evaluates.

Each round's plan (trainer/federated/rounds.py) is made from the seed and the simulated clock
before any client trains; only the clients it aggregates are ordered and trained.

Rounds overlap: as soon as round r is aggregated the server sends round r + 1's order, and
evaluates, logs and checkpoints round r while the executors train. Round r + 1 needs only
the new global vector and the simulated clock after round r's plan, so nothing it computes
depends on that overlap."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from trainer.federated.aggregate import Layout, aggregate, combine, flatten, load_vector
from trainer.federated.behaviour import Behaviour
from trainer.federated.client import Executor
from trainer.federated.comm import Inbox, Order, ServerComm, Share
from trainer.federated.records import client_records
from trainer.federated.rounds import RoundPlan, Simulator, select_clients
from trainer.federated.strategies import MeanStrategy, Strategy
from trainer.loops import evaluate
from trainer.metrics import StepRecord
from trainer.models import build_model
from trainer.optim import LrSchedule, build_loss
from trainer.runtime import Job, Reporter, eval_due


def sample_clients(seed: int, round_: int, clients: int, per_round: int) -> tuple[int, ...]:
    """The round's clients when every client is available: a seeded draw, ascending."""
    return select_clients(seed, round_, per_round, np.ones(clients, dtype=bool))


@dataclass(frozen=True)
class Arrival:
    """A finished round as the server receives it: every executor's share and the traffic."""

    shares: list[Share]
    bytes: int  # sent and received
    bytes_in: int
    vectors_in: int


class Pending(Protocol):
    def wait(self) -> Arrival: ...


class Pool(Protocol):
    def submit(self, order: Order, vector: torch.Tensor) -> Pending: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Deferred:
    """Work that runs when waited for: WORLD_SIZE=1 trains the round in `wait`."""

    work: Callable[[], Arrival]

    def wait(self) -> Arrival:
        return self.work()


class LocalPool:
    """WORLD_SIZE=1: the server process trains every client itself; nothing crosses a wire."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def submit(self, order: Order, vector: torch.Tensor) -> Pending:
        return Deferred(lambda: Arrival([self.executor.run(order, vector, order.clients)], 0, 0, 0))

    def close(self) -> None:
        """Nothing to stop."""


@dataclass(frozen=True)
class InFlight:
    """A round handed to the executors: its receives are posted, its order's bytes counted."""

    inbox: Inbox
    sent: int

    def wait(self) -> Arrival:
        shares, received, vectors = self.inbox.wait()
        return Arrival(shares, self.sent + received, received, vectors)


class RemotePool:
    """WORLD_SIZE>1: executors on ranks 1.. train the clients they host."""

    def __init__(self, comm: ServerComm) -> None:
        self.comm = comm

    def submit(self, order: Order, vector: torch.Tensor) -> Pending:
        if not order.clients:  # nothing to train: the executors wait for the next order
            return Deferred(lambda: Arrival([], 0, 0, 0))
        sent = self.comm.send_order(order, vector)
        return InFlight(self.comm.post(order.clients), sent)

    def close(self) -> None:
        self.comm.stop()


class Server:
    def __init__(
        self, job: Job, strategy: Strategy, test_batches: Iterable[Any], sizes: Sequence[int]
    ) -> None:
        """`sizes`: each client's training samples, which its simulated time follows."""
        self.job = job
        self.strategy = strategy
        self.test_batches = test_batches
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

    def order(self, round_: int, clock: float) -> tuple[Order, RoundPlan]:
        """Plan `round_`, which begins at simulated time `clock`; order its aggregated clients."""
        plan = self.simulator.plan(round_, clock)
        return Order(round_, self.schedule.lr, plan.aggregated), plan

    def run(self, pool: Pool, reporter: Reporter, start: int) -> None:
        """Round r's evaluation, log line and checkpoint run while round r + 1 trains."""
        assert self.job.config.federated is not None
        rounds = self.job.config.federated.rounds
        last = time.monotonic()
        clock = reporter.progress.sim_time
        order, plan = self.order(start, clock)
        pending = pool.submit(order, self.vector) if start < rounds else None
        for round_ in range(start, rounds):
            assert pending is not None
            arrival = pending.wait()
            self.vector = self.aggregate(arrival.shares)
            self.schedule.step()
            done, planned, clock = order, plan, clock + plan.seconds
            if round_ + 1 < rounds:
                order, plan = self.order(round_ + 1, clock)
                pending = pool.submit(order, self.vector)
            else:
                pool.close()
            record, clients = self.record(done, planned, clock, arrival, reporter, last)
            last = time.monotonic()
            reporter.step_done(record, self.states(), clients)
        if start >= rounds:
            pool.close()
        reporter.finish()

    def record(
        self,
        order: Order,
        plan: RoundPlan,
        clock: float,
        arrival: Arrival,
        reporter: Reporter,
        since: float,
    ) -> tuple[StepRecord, list[dict[str, Any]]]:
        """Evaluate the new global model when due; `seconds` run from the previous record;
        `clock`: the simulated time at the round's end."""
        sums = None
        if eval_due(self.job.config, order.round + 1):
            load_vector(self.model, self.vector.to(self.job.device))
            sums = evaluate(self.model, self.test_batches, self.loss_fn, self.job.device)
        records = sorted((r for s in arrival.shares for r in s.records), key=lambda r: r.client)
        record = StepRecord(
            kind="round",
            step=order.round + 1,
            loss=None if sums is None else sums.mean_loss,
            accuracy=None if sums is None else sums.accuracy,
            train_loss=sum(r.loss_sum for r in records) / max(sum(r.count for r in records), 1),
            seconds=time.monotonic() - since,
            bytes=arrival.bytes,
            lr=order.lr,
            time=reporter.progress.elapsed(),
            clients=list(order.clients),
            sim_seconds=plan.seconds,
            sim_time=clock,
            attempts=len(plan.attempts),
            skipped=plan.skipped,
            bytes_in=arrival.bytes_in,
            vectors_in=arrival.vectors_in,
        )
        return record, client_records(order.round + 1, plan, records)

    def aggregate(self, shares: Sequence[Share]) -> torch.Tensor:
        return next_global(self.strategy, self.layout, self.vector, shares)


def next_global(
    strategy: Strategy, layout: Layout, vector: torch.Tensor, shares: Sequence[Share]
) -> torch.Tensor:
    """Mean strategies add the executors' partials; the others see every client's vector,
    ascending by client."""
    if isinstance(strategy, MeanStrategy):
        partials = [s.partial for s in shares if s.partial is not None]
        return combine(strategy, layout, vector, partials)
    pairs = sorted(
        (pair for s in shares for pair in zip(s.records, s.vectors, strict=True)),
        key=lambda pair: pair[0].client,
    )
    vectors = [v for _, v in pairs]
    return aggregate(strategy, layout, vector, vectors, [record.samples for record, _ in pairs])
