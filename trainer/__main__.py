"""Entry point of every pod: read env, load config, set up, run (`python -m trainer`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from fltkc.contract.env import read_env
from trainer.config import load_config
from trainer.errors import PeerLost, UsageError, report

if TYPE_CHECKING:
    from trainer.provenance import RankRecord

# OpenMP (libgomp, torch's on Linux) lets a thread spin ~300,000 times after each parallel
# region before it sleeps. On a node shared with other pods, one preempted thread then stalls
# its team: 2-thread training ran 3-5x slower than at this setting, which costs nothing on an
# idle node (docs/benchmarks.md). Read when torch loads, which it has not yet here.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")


def _modes() -> dict[str, Callable[..., None]]:
    from trainer.ddp import run_distributed
    from trainer.federated import run_federated

    return {"distributed": run_distributed, "federated": run_federated}


def main() -> int:
    """Train the job described by the environment; bad input exits 2 with one line."""
    from trainer import rendezvous
    from trainer.data import DataError
    from trainer.provenance import RankRecord
    from trainer.runtime import setup

    record: RankRecord | None = None
    try:
        env = read_env(os.environ)
        record = RankRecord(env)
        record.started()
        config = load_config(env.config_path, env)
        job = setup(env, config)
        with rendezvous.peer_guard(f"{config.mode} training"):
            _modes()[config.mode](job)
    except (UsageError, DataError) as exc:
        joined = rendezvous.abandon()
        _fail(f"error: {exc}", UsageError.exit_code, record)
        if joined:  # every rank is leaving: tearing down what they shared blocks, as below
            leave_process(UsageError.exit_code)
        return UsageError.exit_code
    except PeerLost as exc:
        _fail(f"peer lost: {exc}", PeerLost.exit_code, record)
        leave_process(PeerLost.exit_code)
    except BaseException:
        if record is not None:
            record.ended(1)  # a crash (or Ctrl-C) still ends this attempt in the record
        raise
    rendezvous.leave()
    record.ended(0)
    return 0


def _fail(message: str, code: int, record: RankRecord | None) -> None:
    report(message)
    if record is not None:
        record.ended(code)


def leave_process(code: int) -> NoReturn:
    """Exit without the interpreter's teardown: once torch is imported, freeing its modules
    and objects costs a pod about a second of CPU (and a process group whose peer vanished
    blocks for seconds in torch's destructors); by now every file is closed."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    leave_process(main())
