"""The one env reader: the operator's (or Torch runtime's) and the compiler's variables, frozen.

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


def _missing(environ: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not environ.get(name, "").strip()]


def _incomplete(missing: list[str], names: tuple[str, ...], who: str) -> UsageError:
    if len(missing) == 1:
        return UsageError(f"environment variable {missing[0]} is not set; the pod spec must set it")
    return UsageError(
        f"environment variables {', '.join(missing)} are not set, but {who} sets "
        f"{', '.join(names)} together; the pod spec must set them all"
    )


def _rendezvous(environ: Mapping[str, str]) -> tuple[str, int, int, int]:
    """(master address, master port, world size, rank) from one complete group of variables.

    The training operator's RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT (a PyTorchJob) win
    whenever any of RANK, WORLD_SIZE and MASTER_ADDR is set; otherwise the Torch runtime's PET_*
    (a TrainJob). A group must be complete: half of one is a pod spec mistake, never a fallback.
    """
    operator = (contract.ENV_RANK, contract.ENV_WORLD_SIZE, contract.ENV_MASTER_ADDR)
    if _missing(environ, operator) != list(operator):
        if missing := _missing(environ, contract.OPERATOR_ENV):
            raise _incomplete(missing, contract.OPERATOR_ENV, "the training operator")
        world_size = _integer(environ, contract.ENV_WORLD_SIZE, 1)
        rank = _integer(environ, contract.ENV_RANK, 0)
        names = (contract.ENV_RANK, contract.ENV_WORLD_SIZE)
        address, port = contract.ENV_MASTER_ADDR, contract.ENV_MASTER_PORT
    else:
        torch = contract.TORCH_RUNTIME_ENV
        missing = _missing(environ, torch)
        if len(missing) == len(torch):
            raise UsageError(
                f"neither the training operator's {', '.join(contract.OPERATOR_ENV)} nor the "
                f"Torch runtime's {', '.join(torch)} is set; run the trainer in a PyTorchJob "
                "or a TrainJob, or set one group"
            )
        if missing:
            raise _incomplete(missing, torch, "the Torch runtime")
        nproc = environ[contract.ENV_PET_NPROC_PER_NODE].strip()
        if nproc != "1":
            raise UsageError(
                f"{contract.ENV_PET_NPROC_PER_NODE}={nproc!r}: the trainer is one process per "
                "pod; set the TrainJob's trainer.numProcPerNode to 1"
            )
        world_size = _integer(environ, contract.ENV_PET_NNODES, 1)
        rank = _integer(environ, contract.ENV_PET_NODE_RANK, 0)
        names = (contract.ENV_PET_NODE_RANK, contract.ENV_PET_NNODES)
        address, port = contract.ENV_PET_MASTER_ADDR, contract.ENV_PET_MASTER_PORT
    if rank >= world_size:
        raise UsageError(f"{names[0]}={rank} must be below {names[1]}={world_size}")
    return _require(environ, address), _integer(environ, port, 1, 65535), world_size, rank


def read_env(environ: Mapping[str, str]) -> TrainerEnv:
    """One complete rendezvous group (see _rendezvous) and contract.COMPILER_ENV.

    Anything missing or malformed is a UsageError (exit 2, never retried).
    """
    master_addr, master_port, world_size, rank = _rendezvous(environ)
    return TrainerEnv(
        master_addr=master_addr,
        master_port=master_port,
        world_size=world_size,
        rank=rank,
        config_path=Path(_require(environ, contract.ENV_CONFIG)),
        log_dir=Path(_require(environ, contract.ENV_LOG_DIR)),
        data_dir=Path(_require(environ, contract.ENV_DATA_DIR)),
        job_name=_require(environ, contract.ENV_JOB_NAME),
        seed=_integer(environ, contract.ENV_SEED, 0, 2**32 - 1),
    )
