"""Server <-> executor messages over torch.distributed (gloo): orders, shares, counted in bytes.

A round: the server broadcasts an order (status, round, lr, the clients to train: those its
round plan aggregates) and the global vector; each executor hosting any of them trains them
and sends its share: one float64 row per client (a ClientRecord: samples, losses, measured
seconds, its held-out sums), then one partial sum under a mean strategy, else each client's
trained vector. Message sizes follow from the order, so the server posts every receive up
front and executors never wait on each other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
import torch.distributed as dist

from trainer.federated.aggregate import Layout, Partial
from trainer.rendezvous import peer_guard

STOP, GO = 0.0, 1.0


@dataclass(frozen=True)
class Order:
    round: int
    lr: float
    clients: tuple[int, ...]


@dataclass(frozen=True)
class ClientRecord:
    """What the server learns of one client's round besides its weights. Every field is a
    number and travels as one float64 of a row in field order: a new field (simulated seconds,
    a dropped or late flag) needs a line here and the executor to fill it in."""

    client: int
    samples: int
    loss_sum: float
    count: int
    compute_seconds: float  # wall seconds of its training on the executor, load to last step
    # Summed loss, correct predictions and targets on its held-out split (clientEvaluation).
    eval_loss: float = 0.0
    eval_correct: int = 0
    eval_count: int = 0

    def row(self) -> list[float]:
        return [float(getattr(self, f.name)) for f in fields(self)]

    @classmethod
    def from_row(cls, row: Sequence[float]) -> ClientRecord:
        cast = {"int": int, "float": float, "bool": bool}
        values = {f.name: cast[str(f.type)](v) for f, v in zip(fields(cls), row, strict=True)}
        return cls(**values)


RECORD_WIDTH = len(fields(ClientRecord))


@dataclass(frozen=True)
class Share:
    """One executor's part of a round: its clients' records, ascending by client, and either
    their partial sum (mean strategies) or their trained vectors in the records' order."""

    records: tuple[ClientRecord, ...]
    partial: Partial | None = None
    vectors: tuple[torch.Tensor, ...] = ()


def host_of(client: int, world_size: int) -> int:
    """The rank that trains `client`: rank 0 alone, else ranks 1.. in turn."""
    return 0 if world_size == 1 else 1 + client % (world_size - 1)


def hosted(clients: Sequence[int], world_size: int) -> dict[int, list[int]]:
    """The selected clients of each rank that hosts any, by ascending rank."""
    out: dict[int, list[int]] = {}
    for client in sorted(clients):
        out.setdefault(host_of(client, world_size), []).append(client)
    return dict(sorted(out.items()))


def nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


@dataclass(frozen=True)
class Posted:
    """The receive buffers of one executor's share; `partial` is empty when it sends vectors."""

    records: torch.Tensor
    partial: torch.Tensor
    vectors: tuple[torch.Tensor, ...]
    works: tuple[dist.Work, ...]

    def share(self, layout: Layout) -> Share:
        rows = tuple(ClientRecord.from_row(r) for r in self.records.tolist())
        partial = Partial(layout, self.partial) if self.partial.numel() else None
        return Share(rows, partial, self.vectors)

    @property
    def bytes(self) -> int:
        return nbytes(self.records) + nbytes(self.partial) + sum(map(nbytes, self.vectors))


@dataclass(frozen=True)
class Inbox:
    """A round's posted receives, by ascending rank."""

    layout: Layout
    posted: tuple[Posted, ...]

    def wait(self) -> tuple[list[Share], int, int]:
        """The shares, the bytes received and how many model-sized vectors they held."""
        with peer_guard("receiving client updates"):
            for post in self.posted:
                for work in post.works:
                    work.wait()
        shares = [post.share(self.layout) for post in self.posted]
        vectors = sum(int(s.partial is not None) + len(s.vectors) for s in shares)
        return shares, sum(post.bytes for post in self.posted), vectors


class ServerComm:
    def __init__(self, world_size: int, per_round: int, layout: Layout, reduce: bool) -> None:
        self.world_size = world_size
        self.per_round = per_round
        self.layout = layout
        self.reduce = reduce

    def _order_tensor(self, status: float, order: Order | None) -> torch.Tensor:
        msg = torch.full((3 + self.per_round,), -1.0, dtype=torch.float64)
        msg[0] = status
        if order is not None:
            msg[1], msg[2] = order.round, order.lr
            msg[3 : 3 + len(order.clients)] = torch.tensor(order.clients, dtype=torch.float64)
        return msg

    def send_order(self, order: Order, vector: torch.Tensor) -> int:
        """Broadcast the order and the global vector; returns the bytes the executors received,
        a copy each (gloo forwards along a binomial tree: the server sends ceil(log2 W))."""
        msg = self._order_tensor(GO, order)
        with peer_guard("broadcasting the global model"):
            dist.broadcast(msg, src=0)
            dist.broadcast(vector, src=0)
        return (nbytes(msg) + nbytes(vector)) * (self.world_size - 1)

    def post(self, clients: Sequence[int]) -> Inbox:
        """Post the receive of every share the order asks for, without waiting."""
        posted = []
        for rank, mine in hosted(clients, self.world_size).items():
            records = torch.zeros(len(mine), RECORD_WIDTH, dtype=torch.float64)
            size, count = self.layout.size, 0 if self.reduce else len(mine)
            partial = torch.zeros(size + 1 if self.reduce else 0, dtype=torch.float64)
            vectors = tuple(torch.zeros(size, dtype=torch.float32) for _ in range(count))
            buffers = [records, partial] if self.reduce else [records, *vectors]
            works = tuple(_irecv(buf, rank) for buf in buffers)
            posted.append(Posted(records, partial, vectors, works))
        return Inbox(self.layout, tuple(posted))

    def stop(self) -> None:
        with peer_guard("stopping the clients"):
            dist.broadcast(self._order_tensor(STOP, None), src=0)


def _irecv(tensor: torch.Tensor, src: int) -> dist.Work:
    with peer_guard("posting a receive"):
        work = dist.irecv(tensor, src)
    assert work is not None  # None only for a rank outside the group
    return work


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

    def send(self, share: Share) -> None:
        records = torch.tensor([r.row() for r in share.records], dtype=torch.float64)
        payload = [share.partial.data] if share.partial is not None else list(share.vectors)
        with peer_guard("sending a client update"):
            dist.send(records, 0)
            for tensor in payload:
                dist.send(tensor.contiguous(), 0)
