"""Bad env, config or rendezvous: one line naming the place and the fix, a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import trainer_helpers as h

from trainer.__main__ import main
from trainer.checkpoint import save_checkpoint


@pytest.fixture(autouse=True)
def _restore_torch_flags() -> Iterator[None]:
    # main() switches torch to deterministic kernels for the whole process.
    yield
    torch.use_deterministic_algorithms(False)


def _run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], job: h.Job, **env: str
) -> tuple[int, str]:
    for key, value in {**job.env(0, 1), **env}.items():
        monkeypatch.setenv(key, value)
    for key in [k for k, v in env.items() if v == ""]:
        monkeypatch.delenv(key)
    code = main()
    return code, capsys.readouterr().err


ENV_CASES = [
    ({"MASTER_ADDR": ""}, "environment variable MASTER_ADDR is not set; the pod spec must set it"),
    ({"WORLD_SIZE": "three"}, "WORLD_SIZE='three' is not an integer"),
    ({"RANK": "3", "WORLD_SIZE": "3"}, "RANK=3 must be below WORLD_SIZE=3"),
    ({"MASTER_PORT": "70000"}, "MASTER_PORT=70000 is out of range; it must be between 1 and 65535"),
    ({"FLTK_SEED": "-1"}, "FLTK_SEED=-1 is out of range; it must be between 0 and 4294967295"),
    (
        {"FLTK_JOB_NAME": ""},
        "environment variable FLTK_JOB_NAME is not set; the pod spec must set it",
    ),
    ({"FLTK_SEED": "8"}, "$.seed is 7 but FLTK_SEED is 8; they must be equal"),
]


@pytest.mark.parametrize(("env", "message"), ENV_CASES)
def test_bad_env(
    env: dict[str, str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = h.new_job(tmp_path, h.config())
    code, err = _run_main(monkeypatch, capsys, job, **env)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("fltk-trainer: error: ")
    assert err.rstrip().endswith(message)


def _fed(**changes: Any) -> dict[str, Any]:
    return {**h.BASE["federated"], **changes}


STRATEGY = "$.federated.strategy"
CONFIG_CASES = [
    (
        {"optimizer": {"name": "sgd", "lr": 0}},
        "$.optimizer.lr: 0 is less than or equal to the minimum of 0",
    ),
    ({"mode": "gossip"}, "$.mode: 'gossip' is not one of ['distributed', 'federated']"),
    ({"extra": 1}, "$: Additional properties are not allowed ('extra' was unexpected)"),
    (
        {"model": {"name": "cifar10-cnn"}},
        "$.model.name: model cifar10-cnn (3x32x32 inputs, 10 classes) does not fit dataset mnist "
        "(1x28x28 inputs, 10 classes); use a dataset of: cifar10",
    ),
    (
        {"federated": _fed(clientsPerRound=7)},
        "$.federated.clientsPerRound: 7 is more than clients (6); lower it or raise clients",
    ),
    (
        {"federated": _fed(strategy={"name": "fedavg", "mu": 0.1})},
        f"{STRATEGY}.mu: applies only to fedprox, not fedavg; remove it",
    ),
    (
        {"federated": _fed(clients=300)},
        "$.federated.clients: 300 is more than the 256 training samples dataset.trainSamples "
        "asks for; each client needs at least one, so lower clients",
    ),
    (
        {"federated": _fed(clients=100, partition={"name": "shards", "shardsPerClient": 3})},
        "$.federated.partition.shardsPerClient: 100 clients x 3 is 300 shards, more than the 256 "
        "training samples dataset.trainSamples asks for; each shard needs at least one, so lower "
        "shardsPerClient or clients",
    ),
    (
        {"optimizer": {"name": "sgd", "lr": 0.1, "nesterov": True}},
        "$.optimizer.nesterov: needs momentum > 0; set optimizer.momentum",
    ),
    (
        {"federated": _fed(partition={"name": "natural"})},
        "$.federated.partition.name: natural splits by the users in the data and mnist has none "
        "(reddit does); use iid or a label partition",
    ),
    (
        {"federated": _fed(clientBehaviour={"minResponses": 4})},
        "$.federated.clientBehaviour.minResponses: 4 is more than clientsPerRound (3): a round can "
        "never aggregate 4 updates; lower it or raise clientsPerRound",
    ),
    (
        {"federated": _fed(clientBehaviour={"speed": {"distribution": "trace", "file": "d.csv"}})},
        "$.federated.clientBehaviour names a trace file; fltkc build turns it into a table (speed "
        "distribution table, availability model windows): build the config",
    ),
    (
        {
            "federated": _fed(
                clientBehaviour={"availability": {"model": "windows", "clients": [{"windows": []}]}}
            )
        },
        "$.federated.clientBehaviour.availability.clients: needs one entry per client (6), not 1",
    ),
    (
        {"federated": _fed(clientBehaviour={"deadlineSeconds": 0})},
        "$.federated.clientBehaviour.deadlineSeconds: 0 is less than or equal to the minimum of 0",
    ),
]


@pytest.mark.parametrize(("changes", "message"), CONFIG_CASES)
def test_bad_config(
    changes: dict[str, Any],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = h.new_job(tmp_path, {**h.config(), **changes})
    code, err = _run_main(monkeypatch, capsys, job)
    assert code == 2
    assert err == f"fltk-trainer: error: {job.config_path}: {message}\n"


def test_unreadable_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    job = h.new_job(tmp_path, h.config())
    job.config_path.write_text('{"seed": 7,\n  "mode": }')
    code, err = _run_main(monkeypatch, capsys, job)
    assert (code, err) == (2, f"fltk-trainer: error: {job.config_path}:2:11: invalid JSON: "
                           "Expecting value\n")  # fmt: skip
    code, err = _run_main(monkeypatch, capsys, job, FLTK_CONFIG=str(tmp_path / "absent.json"))
    assert code == 2 and "absent.json: cannot read the trainer config" in err


def test_checkpoint_of_another_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    job = h.new_job(tmp_path, h.config())
    job.log_dir.mkdir()
    save_checkpoint(job.log_dir / "checkpoint.pt", 1, "not-this-config", {})
    code, err = _run_main(monkeypatch, capsys, job)
    assert code == 2
    assert err.endswith(
        "checkpoint.pt: this checkpoint belongs to a different trainer config; "
        "delete it or give the job a fresh log directory\n"
    )


# The catalog knows trainSamples, so the config loader refuses these before any data is read
# (test_partitions.py covers the same refusal where the size is only known from the data).
DATA_CASES = [
    (_fed(clients=12), "$.federated.clients: 12 is more than the 8 training samples"),
    (
        _fed(partition={"name": "shards", "shardsPerClient": 2}),
        "$.federated.partition.shardsPerClient: 6 clients x 2 is 12 shards, more than the 8",
    ),
]


@pytest.mark.parametrize(("federated", "problem"), DATA_CASES)
def test_data_a_partition_cannot_split_is_bad_input(
    federated: dict[str, Any],
    problem: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dataset = {**h.BASE["dataset"], "trainSamples": 8}
    job = h.new_job(tmp_path, {**h.config(), "dataset": dataset, "federated": federated})
    code, err = _run_main(monkeypatch, capsys, job)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("fltk-trainer: error: ") and problem in err


def test_one_line_and_no_traceback_from_the_real_process(tmp_path: Path) -> None:
    job = h.new_job(tmp_path, {**h.config(), "batchSize": 0})
    proc = subprocess.run(
        [sys.executable, "-m", "trainer"],
        cwd=h.ROOT,
        env=job.env(0, 1),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        f"fltk-trainer: error: {job.config_path}: $.batchSize: 0 is less than the minimum of 1\n"
    )


@pytest.mark.slow
def test_rendezvous_gives_up_after_its_timeout(tmp_path: Path) -> None:
    """A worker whose master never resolves, and a master whose workers never come."""
    cfg = {**h.config(), "rendezvous": {"timeoutSeconds": 2}}
    job = h.new_job(tmp_path, cfg)
    worker = job.start(1, 2, MASTER_ADDR="job-0-master-0.invalid")
    master = job.start(0, 2)
    (w_code, w_out), (m_code, m_out) = h.finish([worker, master], 60)
    assert w_code == 129 and m_code == 129
    assert w_out.splitlines()[-1] == (
        "fltk-trainer: peer lost: could not reach the master at job-0-master-0.invalid:"
        f"{job.port} within 2 s (Name or service not known); raise rendezvous.timeoutSeconds "
        "or check the master"
    )
    assert m_out.startswith("fltk-trainer: peer lost: rendezvous failed: ")
    assert "Traceback" not in w_out + m_out
    assert json.loads(job.config_path.read_text())["rendezvous"]["timeoutSeconds"] == 2
