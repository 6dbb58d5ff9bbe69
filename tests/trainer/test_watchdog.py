"""The watchdog against a real TCPStore on loopback: a dead master, a silent worker, check-out."""

from __future__ import annotations

import gc
import threading
import time
from datetime import timedelta

import torch.distributed as dist
from trainer_helpers import free_port

from trainer import watchdog

FAST = {"beat": 0.05, "silent": 0.5}


class Verdicts:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.event = threading.Event()

    def __call__(self, reason: str) -> None:
        self.reasons.append(reason)
        self.event.set()


def _server(port: int) -> dist.TCPStore:
    return dist.TCPStore(
        "127.0.0.1", port, is_master=True, timeout=timedelta(seconds=5), wait_for_workers=False
    )


def _worker(port: int, rank: int, world_size: int, lost: Verdicts) -> watchdog.Watchdog:
    """A started worker watchdog on its own client of the store at `port`."""
    store = watchdog.connect("127.0.0.1", port, 5)
    return watchdog.Watchdog(store, rank, world_size, lost, **FAST).start()


def test_a_worker_notices_the_master_store_is_gone() -> None:
    port = free_port()
    server = _server(port)
    lost = Verdicts()
    dog = _worker(port, 1, 3, lost)
    time.sleep(0.3)
    assert lost.reasons == []
    assert server.add("fltkc/alive/1", 0) > 1  # it beats
    del server
    gc.collect()
    assert lost.event.wait(5), "the worker never noticed"
    assert lost.reasons[0].startswith("the master is gone: its store stopped answering")
    dog.stop()


def test_the_master_gives_up_on_a_silent_worker_but_not_on_a_beating_one() -> None:
    port = free_port()
    server = _server(port)
    lost = Verdicts()
    master = watchdog.Watchdog(server, 0, 3, lost, **FAST).start()
    beating = _worker(port, 1, 3, Verdicts())
    # Rank 2 never beats.
    assert lost.event.wait(5)
    assert lost.reasons == ["no heartbeat from rank 2 for 0.5 s"]
    master.stop()
    beating.stop()


def test_checked_out_workers_are_not_missed_and_the_master_waits_for_them() -> None:
    port = free_port()
    server = _server(port)
    lost = Verdicts()
    master = watchdog.Watchdog(server, 0, 2, lost, **FAST).start()
    worker = _worker(port, 1, 2, Verdicts())
    time.sleep(0.2)
    assert worker.check_out() is True
    time.sleep(1.0)  # twice `silent`: a checked-out worker does not count as silent
    assert lost.reasons == []
    started = time.monotonic()
    assert master.check_out(timeout=5) is True
    assert time.monotonic() - started < 1


def test_the_master_stops_waiting_for_a_worker_that_never_checks_out() -> None:
    port = free_port()
    master = watchdog.Watchdog(_server(port), 0, 2, Verdicts(), **FAST).start()
    started = time.monotonic()
    assert master.check_out(timeout=0.5) is False
    assert 0.4 < time.monotonic() - started < 3
