"""What a job was and when each rank ran: job.json (rank 0) and ranks/<rank>.json (every rank).

`fltkc results` reads these from the logs volume, so a directory copied off the cluster groups
its jobs by task and sweep point and times them without the local runner's run.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fltkc import __version__, contract
from fltkc.contract.env import TrainerEnv
from trainer.metrics import write_json

HParam = bool | int | float | str


def versions() -> dict[str, str | None]:
    """The library versions this pod ran with; the report prints them."""
    import torch

    try:
        import torchvision

        vision: str | None = torchvision.__version__
    except ImportError:
        vision = None
    return {
        "fltkc": __version__,
        "torch": str(torch.__version__),
        "torchvision": vision,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
    }


def job_info(config: Mapping[str, Any]) -> dict[str, Any]:
    """job.json: the config's job block flattened, with the seed, mode, versions and config."""
    job = config.get("job") or {}
    return {
        "experiment": job.get("experiment"),
        "task": job.get("task"),
        "name": job.get("name"),
        "repetition": job.get("repetition", 0),
        "sweep": dict(job.get("sweep") or {}),
        "seed": config.get("seed"),
        "mode": config.get("mode"),
        "versions": versions(),
        "config": dict(config),
    }


def write_job_info(log_dir: Path, config: Mapping[str, Any]) -> None:
    write_json(log_dir / contract.JOB_FILE, job_info(config))


def hparams(config: Mapping[str, Any]) -> dict[str, HParam]:
    """The TensorBoard HParams of a job: its task, repetition, seed and swept parameters."""
    job = config.get("job") or {}
    out: dict[str, HParam] = {
        "task": str(job.get("task", "")),
        "repetition": int(job.get("repetition", 0)),
        "seed": int(config.get("seed", 0)),
    }
    for key in ("stream", "priority"):  # a workload mixture's draw (spec.streams)
        if isinstance(job.get(key), str):
            out[key] = job[key]
    for path, value in sorted((job.get("sweep") or {}).items()):
        scalar = isinstance(value, (bool, int, float, str))
        out[path] = value if scalar else json.dumps(value, sort_keys=True)
    return out


class RankRecord:
    """ranks/<rank>.json: one entry per attempt of this rank (a restarted pod appends one)."""

    def __init__(self, env: TrainerEnv, clock: Any = time.time) -> None:
        self.path = env.log_dir / contract.RANKS_DIR / f"{env.rank}.json"
        self.clock = clock
        self.data: dict[str, Any] = {
            "job": env.job_name,
            "rank": env.rank,
            "worldSize": env.world_size,
            "attempts": [],
        }
        try:
            kept = json.loads(self.path.read_text(encoding="utf-8"))
            self.data["attempts"] = list(kept["attempts"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # the first attempt, or a torn file from a killed one: start afresh

    def started(self) -> None:
        attempt = {"start": self.clock(), "end": None, "exitCode": None, "host": _host()}
        self.data["attempts"].append(attempt)
        self._save()

    def ended(self, exit_code: int) -> None:
        if self.data["attempts"]:
            self.data["attempts"][-1].update(end=self.clock(), exitCode=exit_code)
            self._save()

    def _save(self) -> None:
        # Timing is a report, never a reason to fail training.
        with contextlib.suppress(OSError):
            write_json(self.path, self.data)


def _host() -> str:
    return os.environ.get("HOSTNAME") or socket.gethostname()
