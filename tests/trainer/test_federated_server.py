"""The server's round loop: round r + 1 is handed out before round r is evaluated and saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import trainer_helpers as h

from fltkc.contract.env import read_env
from trainer.config import load_config
from trainer.federated import server as server_module
from trainer.federated.aggregate import Partial
from trainer.federated.comm import ClientRecord, Order, Share
from trainer.federated.server import Arrival, Deferred, Pending, Server
from trainer.federated.strategies import build_strategy
from trainer.loops import Sums
from trainer.metrics import Progress, StepRecord
from trainer.runtime import Job


class Pool:
    def __init__(self, server: Server, events: list[str]) -> None:
        self.server, self.events = server, events

    def submit(self, order: Order, vector: torch.Tensor) -> Pending:
        self.events.append(f"submit {order.round}")
        return Deferred(lambda: self.arrive(order))

    def arrive(self, order: Order) -> Arrival:
        self.events.append(f"wait {order.round}")
        partial = Partial(self.server.layout)
        partial.add(self.server.model, 4)
        record = ClientRecord(order.clients[0], 4, 2.0, 4, 0.1)
        return Arrival([Share((record,), partial)], 10, 6, 1)

    def close(self) -> None:
        self.events.append("close")


class Reporter:
    def __init__(self, events: list[str]) -> None:
        self.events, self.progress, self.records = events, Progress(), []

    def step_done(
        self, record: StepRecord, states: dict[str, Any], clients: list[dict[str, Any]]
    ) -> None:
        self.events.append(f"save {record.step}")
        self.records.append(record)

    def finish(self) -> None:
        self.events.append("finish")


@pytest.fixture
def server(tmp_path: Path) -> Server:
    job = h.new_job(tmp_path, h.config())
    env = read_env(job.env(0, 1))
    config = load_config(job.config_path, env)
    assert config.federated is not None
    sizes = [10] * config.federated.clients
    return Server(
        Job(env, config, torch.device("cpu")), build_strategy({"name": "fedavg"}), [], sizes
    )


def _events(server: Server, monkeypatch: pytest.MonkeyPatch, start: int) -> list[str]:
    events: list[str] = []

    def evaluate(*args: Any) -> Sums:
        events.append("eval")
        return Sums(1.0, 1, 2)

    monkeypatch.setattr(server_module, "evaluate", evaluate)
    reporter = Reporter(events)
    server.run(Pool(server, events), reporter, start)  # type: ignore[arg-type]
    assert [r.step for r in reporter.records] == list(range(start + 1, 4))
    assert all(r.vectors_in == 1 and r.bytes_in == 6 and r.seconds > 0 for r in reporter.records)
    return events


def test_the_next_round_goes_out_before_this_one_is_evaluated(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _events(server, monkeypatch, 0) == [
        "submit 0", "wait 0", "submit 1", "eval", "save 1",
        "wait 1", "submit 2", "eval", "save 2",
        "wait 2", "close", "eval", "save 3", "finish",
    ]  # fmt: skip


def test_a_resumed_run_starts_at_its_checkpoint(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    resumed = _events(server, monkeypatch, 2)
    assert resumed == ["submit 2", "wait 2", "close", "eval", "save 3", "finish"]
    assert _events(server, monkeypatch, 3) == ["close", "finish"]
