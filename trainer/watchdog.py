"""Notice a vanished replica in seconds instead of after the collective timeout.

Gloo usually fails a pending collective when its peer's socket closes, but not always: a
receive posted after the peer died can wait the whole timeout (ten minutes by default) while
the restarted peer waits for it to rejoin. So every rank also heartbeats through its own
client of rank 0's TCPStore: a worker whose store request fails knows the master is gone, and
the master counts every worker's heartbeats and gives up on one that stays silent.

At the end each worker checks out (stops beating, sets a key) and the master waits for every
check-out before its store closes, so no finished worker mistakes the master's exit for a loss."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import torch.distributed as dist

BEAT_SECONDS = 2.0
# A worker's heartbeat thread runs whatever its main thread computes (torch releases the GIL),
# so a minute of silence means the process is gone or frozen.
SILENT_SECONDS = 60.0
CHECKOUT_SECONDS = 30.0
PREFIX = "fltkc/"


def _alive_key(rank: int) -> str:
    return f"{PREFIX}alive/{rank}"


def _done_key(rank: int) -> str:
    return f"{PREFIX}done/{rank}"


class Watchdog:
    """A daemon thread that calls `on_lost(reason)` once when a peer is judged gone."""

    def __init__(
        self,
        store: dist.Store,
        rank: int,
        world_size: int,
        on_lost: Callable[[str], None],
        beat: float = BEAT_SECONDS,
        silent: float = SILENT_SECONDS,
    ) -> None:
        self.store = store
        self.rank = rank
        self.world_size = world_size
        self.on_lost = on_lost
        self.beat = beat
        self.silent = silent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fltk-watchdog", daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        seen: dict[int, tuple[int, float]] = {}  # rank -> (count, when it last changed)
        while not self._stop.is_set():
            try:
                self.store.add(_alive_key(self.rank), 1)
                silent = self._silent_workers(seen) if self.rank == 0 else []
            except Exception as exc:  # any failed request: the store died with the master
                if not self._stop.is_set():
                    self.on_lost(f"the master is gone: its store stopped answering ({exc})")
                return
            if silent and not self._stop.is_set():
                ranks = ", ".join(map(str, silent))
                self.on_lost(f"no heartbeat from rank {ranks} for {self.silent:g} s")
                return
            self._stop.wait(self.beat)

    def _silent_workers(self, seen: dict[int, tuple[int, float]]) -> list[int]:
        now, silent = time.monotonic(), []
        for rank in range(1, self.world_size):
            if self.store.check([_done_key(rank)]):
                continue
            count = self.store.add(_alive_key(rank), 0)  # read without blocking
            last_count, since = seen.get(rank, (-1, now))
            if count != last_count:
                seen[rank] = (count, now)
            elif now - since > self.silent:
                silent.append(rank)
        return silent

    def check_out(self, timeout: float = CHECKOUT_SECONDS) -> bool:
        """Stop watching; workers say they are done, the master waits until all have.

        Returns False when the master gave up waiting (a worker died after the last step)."""
        self.stop()
        if self.rank != 0:
            try:
                self.store.set(_done_key(self.rank), b"1")
            except Exception:  # the master gave up waiting and left; nothing is lost
                return False
            return True
        keys = [_done_key(rank) for rank in range(1, self.world_size)]
        try:
            self.store.wait(keys, timedelta(seconds=timeout))
        except Exception:  # a timeout: the run is complete either way
            return False
        return True


def connect(addr: str, port: int, timeout: float) -> dist.TCPStore:
    """A separate client of rank 0's store, so the watchdog never queues behind gloo's requests."""
    return dist.TCPStore(
        addr, port, is_master=False, timeout=timedelta(seconds=timeout), wait_for_workers=False
    )
