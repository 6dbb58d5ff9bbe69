"""read_env: the training operator's env (PyTorchJob) or the Torch runtime's PET_* (TrainJob)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fltkc import contract
from fltkc.contract.env import read_env
from fltkc.contract.errors import UsageError

COMPILER = {
    contract.ENV_CONFIG: "/etc/fltk/config.json",
    contract.ENV_LOG_DIR: "/var/fltk/logs/exp/job",
    contract.ENV_DATA_DIR: "/var/fltk/data",
    contract.ENV_JOB_NAME: "job",
    contract.ENV_SEED: "7",
}
# What the training operator injects into worker 1 of a PyTorchJob with a Master and 2 workers
# (it sets the PET_* names too, with the same values).
OPERATOR = {
    "MASTER_ADDR": "job-master-0",
    "MASTER_PORT": "23456",
    "WORLD_SIZE": "3",
    "RANK": "2",
    "PET_MASTER_ADDR": "job-master-0",
    "PET_MASTER_PORT": "23456",
    "PET_NNODES": "3",
    "PET_NPROC_PER_NODE": "1",
    "PET_NODE_RANK": "2",
}
# What Trainer v2.3.0's Torch runtime injects into node 2 of a TrainJob with numNodes 3.
TORCH = {
    "PET_NNODES": "3",
    "PET_NPROC_PER_NODE": "1",
    "PET_NODE_RANK": "2",
    "PET_MASTER_ADDR": "job-node-0-0.job",
    "PET_MASTER_PORT": "29500",
}


def _without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


def _error(environ: dict[str, str]) -> str:
    with pytest.raises(UsageError) as info:
        read_env(environ)
    assert info.value.exit_code == contract.EXIT_USAGE == 2
    return str(info.value)


def test_operator_env() -> None:
    env = read_env({**COMPILER, **OPERATOR})
    assert (env.master_addr, env.master_port, env.world_size, env.rank) == (
        "job-master-0",
        23456,
        3,
        2,
    )
    assert env.config_path == Path("/etc/fltk/config.json") and env.seed == 7


def test_operator_env_wins_over_pet() -> None:
    """A PyTorchJob sets both groups; RANK and WORLD_SIZE decide even if PET_* disagree."""
    env = read_env({**COMPILER, **OPERATOR, "PET_NODE_RANK": "0", "PET_NPROC_PER_NODE": "auto"})
    assert (env.rank, env.world_size) == (2, 3)


def test_torch_runtime_env() -> None:
    env = read_env({**COMPILER, **TORCH})
    assert (env.master_addr, env.master_port, env.world_size, env.rank) == (
        "job-node-0-0.job",
        29500,
        3,
        2,
    )
    assert not env.is_main
    assert read_env({**COMPILER, **TORCH, "PET_NODE_RANK": "0"}).is_main


def test_world_size_is_nodes_times_processes_and_only_one_process_per_node() -> None:
    message = _error({**COMPILER, **TORCH, "PET_NPROC_PER_NODE": "auto"})
    assert message == (
        "PET_NPROC_PER_NODE='auto': the trainer is one process per pod; "
        "set the TrainJob's trainer.numProcPerNode to 1"
    )
    assert "PET_NPROC_PER_NODE='2'" in _error({**COMPILER, **TORCH, "PET_NPROC_PER_NODE": "2"})


def test_half_of_the_torch_env_names_what_is_missing() -> None:
    message = _error({**COMPILER, **_without(TORCH, "PET_MASTER_ADDR", "PET_NNODES")})
    assert message.startswith("environment variables PET_NNODES, PET_MASTER_ADDR are not set")
    assert "the Torch runtime sets PET_NNODES, PET_NPROC_PER_NODE, PET_NODE_RANK" in message
    one = _error({**COMPILER, **_without(TORCH, "PET_MASTER_PORT")})
    assert one == "environment variable PET_MASTER_PORT is not set; the pod spec must set it"


def test_half_of_the_operator_env_is_never_completed_from_pet() -> None:
    """RANK set but MASTER_ADDR and WORLD_SIZE missing: an error, though PET_* could fill them."""
    env = {**COMPILER, **_without(OPERATOR, "MASTER_ADDR", "WORLD_SIZE")}
    message = _error(env)
    assert message.startswith("environment variables MASTER_ADDR, WORLD_SIZE are not set")
    assert "the training operator sets MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK" in message
    alone = _error({**COMPILER, **TORCH, "MASTER_ADDR": "somewhere"})
    assert alone.startswith("environment variables MASTER_PORT, WORLD_SIZE, RANK are not set")


def test_neither_group() -> None:
    message = _error(dict(COMPILER))
    assert message.startswith("neither the training operator's MASTER_ADDR, MASTER_PORT")
    assert "nor the Torch runtime's PET_NNODES" in message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"PET_NODE_RANK": "3"}, "PET_NODE_RANK=3 must be below PET_NNODES=3"),
        ({"PET_NNODES": "0"}, "PET_NNODES=0 is out of range; it must be at least 1"),
        ({"PET_NODE_RANK": "x"}, "PET_NODE_RANK='x' is not an integer"),
        ({"PET_MASTER_PORT": "0"}, "PET_MASTER_PORT=0 is out of range"),
    ],
)
def test_bad_torch_values(change: dict[str, str], message: str) -> None:
    assert _error({**COMPILER, **TORCH, **change}).startswith(message)
