"""Compile experiments held in memory and hand their jobs' config.json to the trainer's loader."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fltkc.compile.expand import Job, Plan, expand
from fltkc.compile.load import load_text
from fltkc.compile.plan import config_json
from fltkc.compile.validate import validate
from fltkc.contract.env import TrainerEnv, read_env
from trainer.config import TrainerConfig, load_config

FILE = "contract.yaml"
BASE_TASK: dict[str, Any] = {
    "batchSize": 16,
    "optimizer": {"name": "sgd", "lr": 0.05},
    "loss": "cross-entropy",
}
FEDERATED: dict[str, Any] = {
    "rounds": 2,
    "clients": 4,
    "clientsPerRound": 2,
    "localEpochs": 1,
    "strategy": {"name": "fedavg"},
    "partition": {"name": "iid"},
}


def task(name: str, mode: str, model: str, dataset: Mapping[str, Any], **fields: Any) -> dict:
    """One task of `mode` with the small defaults above; `fields` replace top-level keys."""
    out: dict[str, Any] = {"name": name, "mode": mode, "model": {"name": model}}
    out |= {"dataset": dict(dataset), **BASE_TASK}
    out |= {"federated": FEDERATED} if mode == "federated" else {"distributed": {"epochs": 1}}
    return out | fields


def experiment_text(tasks: list[dict[str, Any]], name: str = "c") -> str:
    document = {
        "apiVersion": "fltkc.dev/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": name},
        "spec": {"seed": 11, "tasks": tasks},
    }
    return yaml.safe_dump(document, sort_keys=False)


def compile_tasks(tasks: list[dict[str, Any]]) -> Plan:
    """fltkc build up to the plan: load, validate (schema, rules), expand (configs completed)."""
    return expand(validate(load_text(experiment_text(tasks), FILE)))


def trainer_env(job_dir: Path, seed: int, world_size: int = 1, rank: int = 0) -> dict[str, str]:
    """What the operator and the compiler set on a replica of a job living in `job_dir`."""
    return {
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29400",
        "WORLD_SIZE": str(world_size),
        "RANK": str(rank),
        "FLTK_CONFIG": str(job_dir / "config.json"),
        "FLTK_LOG_DIR": str(job_dir / "logs"),
        "FLTK_DATA_DIR": str(job_dir / "data"),
        "FLTK_JOB_NAME": job_dir.name,
        "FLTK_SEED": str(seed),
    }


def write_job(job: Job, root: Path) -> tuple[Path, TrainerEnv]:
    """The job's ConfigMap content as the pod mounts it, and the env its master sees."""
    job_dir = root / job.name
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "config.json").write_text(config_json(job), encoding="utf-8")
    return job_dir / "config.json", read_env(trainer_env(job_dir, job.seed))


def load_as_trainer(job: Job, root: Path) -> TrainerConfig:
    """The trainer's own loader (schema, contract defaults, catalog rules) on the job's config."""
    path, env = write_job(job, root)
    return load_config(path, env)


def compiled_config(job: Job) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(config_json(job))
    return data
