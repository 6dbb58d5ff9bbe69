"""Run `python -m trainer` with clocks on its start-up steps; bench/startup_bench.py starts it.

Every step is timed from the moment the kernel started the process (so the interpreter's own
start counts), by wrapping the trainer's functions by name before it runs. The timeline goes
to the file named by FLTK_STARTUP_TIMELINE as JSON when the process ends."""

from __future__ import annotations

import atexit
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EVENTS: list[tuple[str, float, float]] = []  # (step, start, end) in seconds since exec


# When the kernel started this process, in seconds of the boot clock (/proc/self/stat field 22).
STARTED = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / os.sysconf(
    "SC_CLK_TCK"
)


def since_exec() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME) - STARTED


def timed(step: str, fn: Callable[..., Any], once: bool = False) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = since_exec()
        try:
            return fn(*args, **kwargs)
        finally:
            if not once or all(e[0] != step for e in EVENTS):
                EVENTS.append((step, start, since_exec()))

    return wrapper


def patch(owner: Any, name: str, step: str, once: bool = False) -> None:
    """Wrap owner.name if it exists; trainer versions differ, the timeline says what it saw."""
    if hasattr(owner, name):
        setattr(owner, name, timed(step, getattr(owner, name), once))


def install() -> None:
    import trainer.__main__  # noqa: F401  (its settings for torch, before torch loads)

    start = since_exec()
    import torch  # noqa: F401

    EVENTS.append(("import torch", start, since_exec()))
    start = since_exec()
    import trainer.config
    import trainer.data
    import trainer.federated
    import trainer.federated.client
    import trainer.federated.comm
    import trainer.federated.server
    import trainer.metrics
    import trainer.runtime

    EVENTS.append(("import trainer", start, since_exec()))
    patch(trainer.config, "load_config", "config")
    patch(trainer.runtime, "setup", "seed, threads, process group")
    for owner in (trainer.data, trainer.federated):
        patch(owner, "load_dataset", "dataset")
        patch(owner, "partition_dataset", "partition")
    patch(trainer.federated.server.Server, "__init__", "server: model, schedule")
    patch(trainer.runtime.Reporter, "__init__", "server: log, TensorBoard")
    patch(trainer.federated.client.Executor, "__init__", "executor: model, optimizer")
    patch(trainer.metrics.RunLog, "record", "first round logged", once=True)
    patch(trainer.federated.comm.ClientComm, "next_order", "first order received", once=True)
    patch(trainer.runtime.Reporter, "finish", "finish")


def dump() -> None:
    EVENTS.append(("exit", since_exec(), since_exec()))
    path = os.environ.get("FLTK_STARTUP_TIMELINE")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(EVENTS, fh)


def main() -> None:
    EVENTS.append(("interpreter", 0.0, since_exec()))
    install()
    atexit.register(dump)
    import trainer.__main__ as entry

    code = entry.main()
    dump()
    atexit.unregister(dump)
    # Leave as `python -m trainer` leaves, where that version has its own way.
    getattr(entry, "leave_process", sys.exit)(code)


if __name__ == "__main__":
    main()
