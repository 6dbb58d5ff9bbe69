"""The one env reader: the operator's and the compiler's variables as a pod sees them, frozen.

The trainer runs it in every pod; the local runner and the control-plane tests feed it the env
they inject or find, so both sides agree on rank and world size by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fltkc import contract
from fltkc.contract.errors import UsageError


@dataclass(frozen=True)
class TrainerEnv:
    master_addr: str
    master_port: int
    world_size: int
    rank: int
    config_path: Path
    log_dir: Path
    data_dir: Path
    job_name: str
    seed: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _require(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise UsageError(f"environment variable {name} is not set; the pod spec must set it")
    return value


def _integer(environ: Mapping[str, str], name: str, low: int, high: int | None = None) -> int:
    text = _require(environ, name)
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{name}={text!r} is not an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise UsageError(f"{name}={value} is out of range; it must be {bound}")
    return value


def read_env(environ: Mapping[str, str]) -> TrainerEnv:
    """Exactly contract.OPERATOR_ENV and contract.COMPILER_ENV; anything missing is a UsageError."""
    world_size = _integer(environ, contract.ENV_WORLD_SIZE, 1)
    rank = _integer(environ, contract.ENV_RANK, 0)
    if rank >= world_size:
        raise UsageError(f"RANK={rank} must be below WORLD_SIZE={world_size}")
    return TrainerEnv(
        master_addr=_require(environ, contract.ENV_MASTER_ADDR),
        master_port=_integer(environ, contract.ENV_MASTER_PORT, 1, 65535),
        world_size=world_size,
        rank=rank,
        config_path=Path(_require(environ, contract.ENV_CONFIG)),
        log_dir=Path(_require(environ, contract.ENV_LOG_DIR)),
        data_dir=Path(_require(environ, contract.ENV_DATA_DIR)),
        job_name=_require(environ, contract.ENV_JOB_NAME),
        seed=_integer(environ, contract.ENV_SEED, 0, 2**32 - 1),
    )
