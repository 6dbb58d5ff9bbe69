"""Server <-> executor messages over torch.distributed (gloo): flat vectors, counted in bytes.

A round: the server broadcasts an order (status, round, lr, the clients to train) and the
global vector; each executor trains the listed clients it hosts and sends, per client, a
header (client, samples, loss sum, target count, measured seconds, and its held-out loss sum,
correct and count) and its trained vector. The server posts
every receive up front, so executors never wait on each other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist

from trainer.rendezvous import peer_guard

STOP, GO = 0.0, 1.0
HEADER = 8  # client, samples, loss sum, target count, seconds, held-out loss, correct, count


@dataclass(frozen=True)
class Order:
    round: int
    lr: float
    clients: tuple[int, ...]


@dataclass(frozen=True)
class ClientResult:
    client: int
    samples: int
    loss_sum: float
    count: int
    vector: torch.Tensor
    seconds: float = 0.0  # measured wall seconds of its local training
    eval_loss: float = 0.0  # summed loss, correct predictions and targets on its held-out split
    eval_correct: int = 0
    eval_count: int = 0


def host_of(client: int, world_size: int) -> int:
    """The rank that trains `client`: rank 0 alone, else ranks 1.. in turn."""
    return 0 if world_size == 1 else 1 + client % (world_size - 1)


def nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


class ServerComm:
    def __init__(self, world_size: int, per_round: int, vector_size: int) -> None:
        self.world_size = world_size
        self.per_round = per_round
        self.vector_size = vector_size

    def _order_tensor(self, status: float, order: Order | None) -> torch.Tensor:
        msg = torch.full((3 + self.per_round,), -1.0, dtype=torch.float64)
        msg[0] = status
        if order is not None:
            msg[1], msg[2] = order.round, order.lr
            msg[3 : 3 + len(order.clients)] = torch.tensor(order.clients, dtype=torch.float64)
        return msg

    def send_order(self, order: Order, vector: torch.Tensor) -> int:
        """Broadcast the order and the global vector; returns the bytes that left the server."""
        msg = self._order_tensor(GO, order)
        with peer_guard("broadcasting the global model"):
            dist.broadcast(msg, src=0)
            dist.broadcast(vector, src=0)
        return (nbytes(msg) + nbytes(vector)) * (self.world_size - 1)

    def collect(self, clients: Sequence[int]) -> tuple[list[ClientResult], int]:
        """Receive every selected client's result; returns them in `clients` order and bytes."""
        posted = []
        results, moved = [], 0
        with peer_guard("receiving client updates"):
            for client in clients:
                header = torch.zeros(HEADER, dtype=torch.float64)
                vector = torch.zeros(self.vector_size, dtype=torch.float32)
                src = host_of(client, self.world_size)
                posted.append((header, vector, _irecv(header, src), _irecv(vector, src)))
            for header, vector, *works in posted:
                for work in works:
                    work.wait()
                results.append(_result(header, vector))
                moved += nbytes(header) + nbytes(vector)
        by_client = {r.client: r for r in results}
        return [by_client[c] for c in clients], moved

    def stop(self) -> None:
        with peer_guard("stopping the clients"):
            dist.broadcast(self._order_tensor(STOP, None), src=0)


def _irecv(tensor: torch.Tensor, src: int) -> dist.Work:
    work = dist.irecv(tensor, src)
    assert work is not None  # None only for a rank outside the group
    return work


def _result(header: torch.Tensor, vector: torch.Tensor) -> ClientResult:
    client, samples, loss_sum, count, seconds, eval_loss, correct, counted = header.tolist()
    return ClientResult(
        int(client), int(samples), loss_sum, int(count), vector, seconds, eval_loss,
        int(correct), int(counted),
    )  # fmt: skip


class ClientComm:
    def __init__(self, per_round: int, vector_size: int) -> None:
        self.per_round = per_round
        self.vector_size = vector_size

    def next_order(self) -> tuple[Order, torch.Tensor] | None:
        """The next round's order and global vector, or None when the server says stop."""
        msg = torch.zeros(3 + self.per_round, dtype=torch.float64)
        with peer_guard("waiting for the server"):
            dist.broadcast(msg, src=0)
            if msg[0].item() == STOP:
                return None
            vector = torch.zeros(self.vector_size, dtype=torch.float32)
            dist.broadcast(vector, src=0)
        clients = tuple(int(c) for c in msg[3:].tolist() if c >= 0)
        return Order(int(msg[1].item()), float(msg[2].item()), clients), vector

    def send(self, result: ClientResult) -> None:
        fields = (result.client, result.samples, result.loss_sum, result.count, result.seconds)
        evaluated = (result.eval_loss, result.eval_correct, result.eval_count)
        header = torch.tensor([*fields, *evaluated], dtype=torch.float64)
        with peer_guard("sending a client update"):
            dist.send(header, 0)
            dist.send(result.vector.contiguous(), 0)
