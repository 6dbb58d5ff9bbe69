"""Simulated client heterogeneity: speeds, bandwidths, availability and dropouts.

Every draw comes from the job seed and a stable tuple naming its use (trainer.seeding), never
from the clock or the rank, so every rank and every restart sees the same clients. The config
block is `federated.clientBehaviour` of schemas/trainer-config.schema.json, resolved by the
compiler (trace files arrive as per-client tables).

Units follow FedScale's device traces (Lai et al. 2022, "FedScale: Benchmarking Model and
System Performance of Federated Learning at Scale"): compute as milliseconds per sample,
bandwidth in kbit/s.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fltkc.contract.behaviour import complete_behaviour
from trainer.seeding import derive_seed


@dataclass(frozen=True)
class Behaviour:
    """The `federated.clientBehaviour` block with its defaults; `Behaviour.of(None)` is the
    ideal world: every client at the reference speed, always available, never failing."""

    seconds_per_sample: float
    bandwidth_kbps: float | None
    speed: Mapping[str, Any]
    availability: Mapping[str, Any]
    dropout: float
    deadline: float | None
    min_responses: int
    on_too_few: str
    max_attempts: int
    over_selection: float

    @classmethod
    def of(cls, block: Mapping[str, Any] | None) -> Behaviour:
        cfg = complete_behaviour(block or {})
        return cls(
            seconds_per_sample=float(cfg["secondsPerSample"]),
            bandwidth_kbps=cfg.get("bandwidthKbps"),
            speed=cfg.get("speed", {"distribution": "constant", "factor": 1.0}),
            availability=cfg.get("availability", {"model": "always"}),
            dropout=float(cfg.get("dropout", {}).get("probability", 0.0)),
            deadline=cfg.get("deadlineSeconds"),
            min_responses=int(cfg["minResponses"]),
            on_too_few=str(cfg["onTooFew"]),
            max_attempts=int(cfg.get("maxAttempts", 1)),  # skip: one attempt
            over_selection=float(cfg["overSelection"]),
        )


def _distribution(spec: Mapping[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """n slowdown factors from one named distribution (1.0 = the reference device)."""
    name = spec["distribution"]
    if name == "constant":
        return np.full(n, float(spec["factor"]))
    if name == "uniform":
        return rng.uniform(float(spec["low"]), float(spec["high"]), n)
    if name == "lognormal":
        return np.exp(rng.normal(float(spec["mu"]), float(spec["sigma"]), n))
    if name == "zipf":
        draws = rng.zipf(float(spec["exponent"]), n)
        return np.minimum(draws, float(spec["max"])).astype(np.float64)
    raise ValueError(f"unknown speed distribution {name!r}")


def group_members(shares: Sequence[float], clients: int, seed: int) -> list[list[int]]:
    """Clients of each group: a seeded permutation cut at round(cumulative share x clients);
    clients past the last cut (shares summing below 1) belong to no group."""
    order = np.random.default_rng(derive_seed(seed, "speed-groups")).permutation(clients)
    cuts = [0, *(round(s * clients) for s in np.cumsum(shares))]
    cuts = [min(c, clients) for c in cuts]
    return [sorted(order[a:b].tolist()) for a, b in zip(cuts, cuts[1:], strict=False)]


def slowdowns(speed: Mapping[str, Any], clients: int, seed: int) -> np.ndarray:
    """Each client's slowdown factor; clients outside every group run at the reference 1.0."""
    if "groups" in speed:
        out = np.ones(clients)
        groups = speed["groups"]
        members = group_members([g["share"] for g in groups], clients, seed)
        for g, (group, chosen) in enumerate(zip(groups, members, strict=True)):
            rng = np.random.default_rng(derive_seed(seed, "speed", g))
            out[chosen] = _distribution(group["speed"], len(chosen), rng)
        return out
    if speed["distribution"] == "table":
        return np.ones(clients)  # absolute per-sample costs; see Profiles
    return _distribution(speed, clients, np.random.default_rng(derive_seed(seed, "speed")))


@dataclass(frozen=True)
class Profiles:
    """Per-client simulated capacities: seconds per sample and bandwidth (kbit/s, or None)."""

    seconds_per_sample: np.ndarray
    bandwidth_kbps: np.ndarray | None
    slowdown: np.ndarray

    @classmethod
    def of(cls, behaviour: Behaviour, clients: int, seed: int) -> Profiles:
        speed = behaviour.speed
        if speed.get("distribution") == "table":
            per_sample = np.asarray(speed["computeMsPerSample"], dtype=np.float64) / 1000.0
            bandwidth = np.asarray(speed["bandwidthKbps"], dtype=np.float64)
            return cls(per_sample, bandwidth, per_sample / behaviour.seconds_per_sample)
        factor = slowdowns(speed, clients, seed)
        constant = behaviour.bandwidth_kbps
        return cls(
            behaviour.seconds_per_sample * factor,
            None if constant is None else np.full(clients, float(constant)),
            factor,
        )

    def compute_seconds(self, client: int, samples: int, epochs: int) -> float:
        """Simulated compute: samples x local epochs x the client's seconds per sample."""
        return float(samples * epochs * self.seconds_per_sample[client])

    def comm_seconds(self, client: int, wire_bytes: int) -> float:
        """Download plus upload of the model: bytes x 8 / (kbit/s x 1000); 0 without bandwidth."""
        if self.bandwidth_kbps is None:
            return 0.0
        return float(wire_bytes * 8 / (self.bandwidth_kbps[client] * 1000.0))


class Availability:
    """Which clients can be selected at a simulated time, and when the next one comes online.

    always: every client; probability: each client independently per round and attempt;
    onOff: each client alternates exponential on and off periods (means in seconds), starting
    in its stationary state; windows: per-client [start, end) windows, repeating every
    periodSeconds where given (FedScale's availability traces)."""

    def __init__(self, spec: Mapping[str, Any], clients: int, seed: int) -> None:
        self.spec = spec
        self.model = spec["model"]
        self.clients = clients
        self.seed = seed
        self._toggles: list[list[float]] = [[] for _ in range(clients)]
        self._first_on: list[bool] = []
        self._rngs: list[np.random.Generator] = []
        if self.model == "onOff":
            on, off = float(spec["meanOnSeconds"]), float(spec["meanOffSeconds"])
            for c in range(clients):
                rng = np.random.default_rng(derive_seed(seed, "on-off", c))
                self._first_on.append(bool(rng.random() < on / (on + off)))
                self._rngs.append(rng)

    def at(self, time: float, round_: int, attempt: int) -> np.ndarray:
        """A boolean mask over the clients."""
        if self.model == "always":
            return np.ones(self.clients, dtype=bool)
        if self.model == "probability":
            rng = np.random.default_rng(derive_seed(self.seed, "available", round_, attempt))
            return rng.random(self.clients) < float(self.spec["probability"])
        return np.array([self._on(c, time) for c in range(self.clients)], dtype=bool)

    def next_online(self, time: float) -> float:
        """The earliest simulated time after `time` at which some client is on (inf: never;
        the models without a clock answer `time`)."""
        if self.model in ("always", "probability"):
            return time
        return min((self._next_on(c, time) for c in range(self.clients)), default=math.inf)

    # onOff: toggle times generated lazily from each client's own generator.
    def _extend(self, client: int, time: float) -> list[float]:
        toggles = self._toggles[client]
        on, off = float(self.spec["meanOnSeconds"]), float(self.spec["meanOffSeconds"])
        rng = self._rngs[client]
        while not toggles or toggles[-1] <= time:
            state_on = self._first_on[client] == (len(toggles) % 2 == 0)
            last = toggles[-1] if toggles else 0.0
            toggles.append(last + rng.exponential(on if state_on else off))
        return toggles

    def _on(self, client: int, time: float) -> bool:
        if self.model == "windows":
            return _in_windows(self.spec["clients"][client], time)
        toggles = self._extend(client, time)
        flips = bisect.bisect_right(toggles, time)
        return self._first_on[client] == (flips % 2 == 0)

    def _next_on(self, client: int, time: float) -> float:
        if self.model == "windows":
            return _next_window(self.spec["clients"][client], time)
        if self._on(client, time):
            return time
        toggles = self._extend(client, time)
        return toggles[bisect.bisect_right(toggles, time)]


def _local(entry: Mapping[str, Any], time: float) -> tuple[float, float]:
    """(time within the period, start of that period)."""
    period = entry.get("periodSeconds")
    if not period:
        return time, 0.0
    base = math.floor(time / period) * period
    return time - base, base


def _in_windows(entry: Mapping[str, Any], time: float) -> bool:
    local, _ = _local(entry, time)
    return any(start <= local < end for start, end in entry["windows"])


def _next_window(entry: Mapping[str, Any], time: float) -> float:
    if _in_windows(entry, time):
        return time
    local, base = _local(entry, time)
    starts = sorted(start for start, _ in entry["windows"])
    later = [s for s in starts if s > local]
    if later:
        return float(base + later[0])
    period = entry.get("periodSeconds")
    return base + period + starts[0] if period and starts else math.inf


def dropouts(
    probability: float, seed: int, round_: int, attempt: int, clients: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per client: whether it fails mid-round if selected, and at which fraction of its work.

    Drawn for every client, selected or not, so one client's fate never depends on who else
    was selected."""
    rng = np.random.default_rng(derive_seed(seed, "dropout", round_, attempt))
    fails, fraction = rng.random(clients), rng.random(clients)
    return fails < probability, fraction
