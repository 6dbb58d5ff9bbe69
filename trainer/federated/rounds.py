"""A round in simulated time: who is selected, who drops, who is late, what is aggregated.

The plan is made before any client trains, from the seed and deterministic durations only:
a client's simulated time is samples x local epochs x its seconds per sample (its slowdown
times `secondsPerSample`) plus the model's download and upload over its bandwidth. Measured
compute time differs from run to run and from machine to machine, so it is recorded but never
decides who is late; the same seed therefore gives the same rounds on 1 or many ranks and
after a restart, and only the clients whose updates count are trained.

Closing rule (FedScale's over-commitment, Lai et al. 2022, with Bonawitz et al. 2019's
deadline and minimum): select ceil(clientsPerRound x overSelection) available clients; a
selected client drops with probability p at a uniform point of its work; the first
clientsPerRound survivors to finish within deadlineSeconds are aggregated, in client order.
The round closes at the first of: clientsPerRound updates are in, every selected client
reported or failed (a failure is noticed when it happens), the deadline. With fewer than
minResponses updates the attempt fails: onTooFew skip keeps the global model for this round,
repeat selects again (the clock runs on) up to maxAttempts attempts, then skips. When no
client is online, the attempt first waits for the next one to come online.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import torch

from trainer.federated.behaviour import Availability, Behaviour, Profiles, dropouts
from trainer.seeding import derive_seed, generator

Status = Literal["aggregated", "late", "dropped", "selected"]
# "selected": finished in time, but its attempt failed (fewer than minResponses updates).


def select_clients(
    seed: int, round_: int, per_round: int, available: np.ndarray, attempt: int = 0
) -> tuple[int, ...]:
    """A seeded draw without replacement among the available clients, in ascending order.

    One permutation of all clients, filtered: with everyone available, attempt 0 draws exactly
    the clients of a run without client behaviour."""
    key = ("select", round_) if attempt == 0 else ("select", round_, attempt)
    order = torch.randperm(len(available), generator=generator(derive_seed(seed, *key)))
    chosen = [c for c in order.tolist() if available[c]][:per_round]
    return tuple(sorted(chosen))


@dataclass(frozen=True)
class ClientPlan:
    client: int
    samples: int
    slowdown: float
    compute: float  # simulated compute seconds
    comm: float  # simulated download + upload seconds
    seconds: float  # simulated seconds until it reported, or until it failed when dropped
    wire_bytes: int  # what it moved: the model down, and up unless it dropped
    status: Status = "selected"


@dataclass(frozen=True)
class Attempt:
    round: int
    attempt: int
    start: float  # simulated time it began
    waited: float  # simulated seconds spent waiting for a client to come online first
    seconds: float  # its simulated duration after the wait
    clients: tuple[ClientPlan, ...]  # the selected clients, ascending
    accepted: bool

    @property
    def aggregated(self) -> tuple[int, ...]:
        return tuple(c.client for c in self.clients if c.status == "aggregated")


@dataclass(frozen=True)
class RoundPlan:
    round: int
    attempts: tuple[Attempt, ...]

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]

    @property
    def aggregated(self) -> tuple[int, ...]:
        """The clients whose updates make the next global model; empty when skipped."""
        return self.final.aggregated if self.final.accepted else ()

    @property
    def seconds(self) -> float:
        return sum(a.waited + a.seconds for a in self.attempts)

    @property
    def skipped(self) -> bool:
        return not self.final.accepted


def close(
    plans: Sequence[ClientPlan], target: int, minimum: int, deadline: float | None
) -> tuple[tuple[ClientPlan, ...], float, bool]:
    """Statuses, the attempt's simulated seconds and whether it is accepted (module doc)."""
    finished = sorted(
        (p for p in plans if p.status != "dropped"), key=lambda p: (p.seconds, p.client)
    )
    in_time = [p for p in finished if deadline is None or p.seconds <= deadline]
    kept = {p.client for p in in_time[:target]}
    accepted = len(kept) >= minimum
    # The server stops waiting at the first of: the target's last update, every selected
    # client reported or failed, the deadline.
    ends = [max((p.seconds for p in plans), default=0.0)]
    if len(kept) == target:
        ends.append(max(p.seconds for p in in_time[:target]))
    if deadline is not None:
        ends.append(deadline)
    seconds = min(ends)
    done: Status = "aggregated" if accepted else "selected"
    out = tuple(
        p if p.status == "dropped" else replace(p, status=done if p.client in kept else "late")
        for p in plans
    )
    return out, seconds, accepted


class Simulator:
    """Plans every round of one job; identical on every rank that builds it from the config."""

    def __init__(
        self,
        behaviour: Behaviour,
        seed: int,
        sizes: Sequence[int],
        per_round: int,
        epochs: int,
        model_bytes: int,
    ) -> None:
        self.behaviour = behaviour
        self.seed = seed
        self.sizes = list(sizes)
        self.per_round = per_round
        self.epochs = epochs
        self.model_bytes = model_bytes
        self.profiles = Profiles.of(behaviour, len(sizes), seed)
        self.availability = Availability(behaviour.availability, len(sizes), seed)

    @property
    def selected_per_round(self) -> int:
        wanted = math.ceil(self.per_round * self.behaviour.over_selection - 1e-9)
        return min(wanted, len(self.sizes))

    def client(self, client: int, dropped: bool, fraction: float) -> ClientPlan:
        samples = self.sizes[client]
        compute = self.profiles.compute_seconds(client, samples, self.epochs)
        comm = self.profiles.comm_seconds(client, 2 * self.model_bytes)
        total = compute + comm
        return ClientPlan(
            client=client,
            samples=samples,
            slowdown=float(self.profiles.slowdown[client]),
            compute=compute,
            comm=comm,
            seconds=fraction * total if dropped else total,
            wire_bytes=self.model_bytes if dropped else 2 * self.model_bytes,
            status="dropped" if dropped else "selected",
        )

    def attempt(self, round_: int, attempt: int, start: float) -> Attempt:
        b = self.behaviour
        online = self.availability.next_online(start)
        waited = online - start if math.isfinite(online) else 0.0
        available = self.availability.at(start + waited, round_, attempt)
        chosen = select_clients(self.seed, round_, self.selected_per_round, available, attempt)
        fails, fraction = dropouts(b.dropout, self.seed, round_, attempt, len(self.sizes))
        plans = [self.client(c, bool(fails[c]), float(fraction[c])) for c in chosen]
        closed, seconds, accepted = close(plans, self.per_round, b.min_responses, b.deadline)
        return Attempt(round_, attempt, start + waited, waited, seconds, closed, accepted)

    def plan(self, round_: int, start: float) -> RoundPlan:
        """Every attempt of `round_`, which begins at simulated time `start`."""
        attempts: list[Attempt] = []
        limit = self.behaviour.max_attempts if self.behaviour.on_too_few == "repeat" else 1
        clock = start
        for a in range(limit):
            attempts.append(self.attempt(round_, a, clock))
            clock = attempts[-1].start + attempts[-1].seconds
            if attempts[-1].accepted:
                break
        return RoundPlan(round_, tuple(attempts))
