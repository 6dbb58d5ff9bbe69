"""Join the job's process group: workers wait for the master's address to resolve and accept."""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import torch.distributed as dist

from fltkc.contract.env import TrainerEnv
from trainer import watchdog
from trainer.errors import PeerLost, report

RETRY_SECONDS = 1.0
_watchdog: watchdog.Watchdog | None = None
_joined = False  # this process joined a process group (it may be torn down since)


def wait_for_master(env: TrainerEnv, timeout: float) -> None:
    """Retry until MASTER_ADDR resolves and MASTER_PORT accepts a connection, or time out.

    The operator creates the master's Service with the pods, so a worker may start before the
    name resolves or the master listens. Probing here keeps torch's own retries (and their log
    noise) out of the common case; the probe connection is harmless to the store server."""
    deadline = time.monotonic() + timeout
    said = False
    while True:
        try:
            with socket.create_connection((env.master_addr, env.master_port), RETRY_SECONDS):
                return
        except OSError as exc:
            reason = exc.strerror or str(exc)
        if time.monotonic() >= deadline:
            raise PeerLost(
                f"could not reach the master at {env.master_addr}:{env.master_port} within "
                f"{timeout:.0f} s ({reason}); raise rendezvous.timeoutSeconds or check the master"
            )
        if not said:
            print(f"waiting for the master at {env.master_addr}:{env.master_port}", file=sys.stderr)
            said = True
        time.sleep(RETRY_SECONDS)


def join(env: TrainerEnv, backend: str, timeout: float) -> None:
    """init_process_group at the master read by read_env (the operator's or the Torch runtime's).

    tcp:// rather than env://: a TrainJob pod has PET_MASTER_ADDR but no MASTER_ADDR.
    The same timeout bounds the rendezvous and every later collective, so a client whose
    server is gone gives up after at most `timeout` seconds. Rank 0's TCPStore listens on all
    interfaces (it binds the wildcard address whatever MASTER_ADDR says; see
    tests/trainer/test_rendezvous.py), so workers reach it through the master's Service."""
    if not env.is_main:
        wait_for_master(env, timeout)
    try:
        dist.init_process_group(
            backend=backend,
            init_method=f"tcp://{_host(env.master_addr)}:{env.master_port}",
            world_size=env.world_size,
            rank=env.rank,
            timeout=timedelta(seconds=timeout),
        )
    except dist.DistError as exc:
        raise PeerLost(f"rendezvous failed: {first_line(exc)}") from None
    global _watchdog, _joined
    _joined = True
    try:
        store = watchdog.connect(env.master_addr, env.master_port, timeout)
    except dist.DistError as exc:
        raise PeerLost(f"connecting the watchdog: {first_line(exc)}") from None
    _watchdog = watchdog.Watchdog(store, env.rank, env.world_size, _lost).start()


def _host(address: str) -> str:
    """An address as a URL host: IPv6 literals in brackets."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def _lost(reason: str) -> None:
    """The watchdog's verdict, from its thread: the main thread may be stuck in gloo, so the
    process leaves here, as main() leaves on PeerLost."""
    report(f"peer lost: {reason}")
    os._exit(PeerLost.exit_code)


def check_out() -> None:
    """Stop heartbeating as a rank that is done: the master waits for every worker's."""
    global _watchdog
    if _watchdog is not None:
        _watchdog.check_out()
        _watchdog = None


def leave() -> None:
    """Check out with the watchdog (the master waits for every worker), then tear down."""
    check_out()
    if dist.is_initialized():
        dist.destroy_process_group()


def abandon() -> bool:
    """Stop heartbeating without checking out, for a rank leaving with bad input: a peer that
    leaves first must not turn this exit into a lost peer. True when this process joined a
    process group, so its peers are leaving too and the caller should leave at once."""
    global _watchdog
    if _watchdog is not None:
        _watchdog.stop()
        _watchdog = None
    return _joined


def first_line(exc: BaseException) -> str:
    """The message's first line without gloo's `[source.cc:123] ` prefix and its advice."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    line = re.sub(r"^\[[^\]]*\.(?:cc|cpp|h):\d+\]\s*", "", line)
    return line.split(". This is typically caused")[0]


def is_comm_error(exc: BaseException) -> bool:
    """Gloo reports a dead or timed-out peer as a plain RuntimeError naming gloo."""
    text = str(exc)
    return isinstance(exc, dist.DistError) or any(w in text for w in ("gloo", "NCCL", "Gloo"))


@contextmanager
def peer_guard(what: str) -> Iterator[None]:
    """Turn a failed collective (a peer died or timed out) into PeerLost naming the step."""
    try:
        yield
    except RuntimeError as exc:
        if not is_comm_error(exc):
            raise
        raise PeerLost(f"{what}: {first_line(exc)}") from None
