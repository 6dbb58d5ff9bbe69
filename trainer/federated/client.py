"""An executor: trains the virtual clients its rank hosts, on one reused model instance."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from trainer.federated.aggregate import Layout, Partial, flatten, load_vector
from trainer.federated.comm import ClientComm, ClientRecord, Order, Share, hosted
from trainer.federated.strategies import MeanStrategy, Strategy
from trainer.loops import Penalty, evaluate, train_epoch
from trainer.models import build_model
from trainer.optim import build_loss, build_optimizer
from trainer.runtime import Job
from trainer.seeding import derive_seed, generator, seed_everything


def proximal_penalty(model: nn.Module, mu: float) -> Penalty:
    """FedProx's (mu / 2) ||w - w_global||^2 around the weights the model holds now."""
    anchor = [p.detach().clone() for p in model.parameters()]

    def penalty(net: nn.Module) -> torch.Tensor:
        squares = [(p - a).pow(2).sum() for p, a in zip(net.parameters(), anchor, strict=True)]
        return 0.5 * mu * torch.stack(squares).sum()

    return penalty


class Executor:
    """Model, optimizer and loss are built once and reset per client: no per-client rebuild.

    Under a mean strategy the clients of a round are added into one Partial as they finish;
    otherwise each client's trained vector is kept for the server."""

    def __init__(
        self,
        job: Job,
        train_set: Dataset[Any],
        parts: Sequence[Sequence[int]],
        strategy: Strategy,
        held_out: Sequence[Sequence[int]] | None = None,
    ) -> None:
        self.job = job
        self.train_set = train_set
        self.parts = parts
        self.held_out = held_out
        self.mu = strategy.proximal_mu
        self.reduce = isinstance(strategy, MeanStrategy)
        self.model = build_model(job.config.model).to(job.device)
        self.layout = Layout.of(self.model)
        self.optimizer = build_optimizer(self.model.parameters(), job.config.optimizer)
        self.loss_fn = build_loss(job.config.loss)

    def train(self, client: int, order: Order, global_vector: torch.Tensor) -> ClientRecord:
        """E local epochs of `client` from the global model, which the model then holds; the
        result depends only on the seed, the round and the client, never on the host rank."""
        cfg = self.job.config
        assert cfg.federated is not None
        started = time.perf_counter()
        load_vector(self.model, global_vector.to(self.job.device))
        self.optimizer.state.clear()
        for group in self.optimizer.param_groups:
            group["lr"] = order.lr
        seed = derive_seed(cfg.seed, "client", order.round, client)
        seed_everything(seed)
        batches = DataLoader(
            Subset(self.train_set, self.parts[client]),
            batch_size=cfg.batch_size,
            shuffle=True,
            generator=generator(seed),
        )
        penalty = proximal_penalty(self.model, self.mu) if self.mu > 0 else None
        loss_sum, count = 0.0, 0
        for _ in range(cfg.federated.local_epochs):
            epoch_loss, epoch_count = train_epoch(
                self.model, batches, self.optimizer, self.loss_fn, self.job.device, penalty
            )
            loss_sum, count = loss_sum + epoch_loss, count + epoch_count
        seconds = time.perf_counter() - started
        held = self.held_out[client] if self.held_out is not None else []
        evaluated: tuple[float, int, int] = (0.0, 0, 0)
        if held:  # evaluation leaves the trained weights as they are
            batches = DataLoader(Subset(self.train_set, held), batch_size=cfg.test_batch_size)
            sums = evaluate(self.model, batches, self.loss_fn, self.job.device)
            evaluated = (sums.loss, sums.correct, sums.count)
        samples = len(self.parts[client])
        return ClientRecord(client, samples, loss_sum, count, seconds, *evaluated)

    def run(self, order: Order, global_vector: torch.Tensor, clients: Sequence[int]) -> Share:
        """Train `clients` in ascending order and hand in this executor's share of the round."""
        partial = Partial(self.layout) if self.reduce else None
        records, vectors = [], []
        for client in sorted(clients):
            record = self.train(client, order, global_vector)
            records.append(record)
            if partial is not None:
                partial.add(self.model, record.samples)
            else:
                vectors.append(flatten(self.model))
        return Share(tuple(records), partial, tuple(vectors))


def serve(job: Job, executor: Executor, comm: ClientComm) -> None:
    """Executor ranks: train what each round's order asks of this rank until told to stop."""
    rank, world_size = job.env.rank, job.env.world_size
    while (message := comm.next_order()) is not None:
        order, vector = message
        mine = hosted(order.clients, world_size).get(rank)
        if mine:
            comm.send(executor.run(order, vector, mine))
