"""Hand-written fltkc build output whose container runs a small stand-in trainer; shared helpers."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer

from fltkc import contract
from fltkc.local.cli import run_command
from fltkc.local.supervisor import JobRun
from fltkc.results.cli import results_command
from fltkc.results.records import last_metric

STANDIN = (Path(__file__).parent / "standin_trainer.py").read_text(encoding="utf-8")

LOGS_CLAIM = "fltk-logs"
DATA_CLAIM = "fltk-data"


def job_manifest(
    name: str,
    workers: int,
    arrival: float,
    restart_policy: str = "OnFailure",
    backoff_limit: int = 3,
    priority: int | None = None,
) -> dict[str, Any]:
    """A PyTorchJob shaped like fltkc build's, running the stand-in from its ConfigMap."""
    env = [
        {"name": contract.ENV_CONFIG, "value": contract.CONFIG_PATH},
        {"name": contract.ENV_LOG_DIR, "value": f"{contract.DEFAULT_LOGS_MOUNT}/{name}"},
        {"name": contract.ENV_DATA_DIR, "value": contract.DEFAULT_DATA_MOUNT},
        {"name": contract.ENV_JOB_NAME, "value": name},
        {"name": contract.ENV_SEED, "value": "7"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]

    def replica(count: int) -> dict[str, Any]:
        return {
            "replicas": count,
            "restartPolicy": restart_policy,
            "template": {
                "metadata": {"labels": {contract.LABEL_JOB: name}},
                "spec": {
                    "containers": [
                        {
                            "name": contract.CONTAINER_NAME,
                            "image": contract.DEFAULT_IMAGE,
                            "command": ["python", f"{contract.CONFIG_MOUNT_DIR}/standin.py"],
                            "args": ["--job", "$(FLTK_JOB_NAME)", "--rank", "$(RANK)"],
                            "env": env,
                            "ports": [{"name": contract.PORT_NAME, "containerPort": 23456}],
                            "volumeMounts": [
                                {"name": "config", "mountPath": contract.CONFIG_MOUNT_DIR},
                                {"name": "logs", "mountPath": contract.DEFAULT_LOGS_MOUNT},
                                {"name": "data", "mountPath": contract.DEFAULT_DATA_MOUNT},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": f"{name}-config"}},
                        {"name": "logs", "persistentVolumeClaim": {"claimName": LOGS_CLAIM}},
                        {"name": "data", "persistentVolumeClaim": {"claimName": DATA_CLAIM}},
                    ],
                },
            },
        }

    annotations = {contract.ANNOTATION_ARRIVAL: f"{arrival}"}
    if priority is not None:
        annotations[contract.ANNOTATION_PRIORITY] = str(priority)
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {
            "name": name,
            "labels": {contract.LABEL_EXPERIMENT: "standin", contract.LABEL_TASK: "task-a"},
            "annotations": annotations,
        },
        "spec": {
            "nprocPerNode": "1",
            "runPolicy": {"cleanPodPolicy": "Running", "backoffLimit": backoff_limit},
            "pytorchReplicaSpecs": {"Master": replica(1), "Worker": replica(workers)},
        },
    }


def config_map(name: str, standin: dict[str, Any]) -> dict[str, Any]:
    config = {"apiVersion": "fltkc.dev/v1alpha1", "kind": "TrainerConfig", "standin": standin}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-config"},
        "data": {contract.CONFIG_KEY: json.dumps(config), "standin.py": STANDIN},
    }


WriteOut = Callable[..., Path]


def make_app() -> typer.Typer:
    """The two commands registered the way the fltkc CLI registers them."""
    app = typer.Typer()
    app.command("run")(run_command)
    app.command("results")(results_command)
    return app


def replica_records(log_dir: Path) -> list[dict[str, Any]]:
    """What each replica of a job saw, as the stand-in recorded it (none before it starts)."""
    return [json.loads(p.read_text()) for p in sorted((log_dir / "replicas").glob("*.json"))]


class KillRankZeroAfterFirstRound:
    """kill -9 a job's rank 0 once its metrics show round 1 and its checkpoint exists.

    `replica` names rank 0 in run.json: master-0 (PyTorchJob) or node-0-0 (TrainJob).
    """

    def __init__(self, run_dir: Path, job: str, replica: str) -> None:
        self.run_dir, self.job, self.replica = run_dir, job, replica
        self.killed: int | None = None

    def __call__(self, runs: Sequence[JobRun], now: float) -> None:
        if self.killed is not None:
            return
        run = next(r for r in runs if r.name == self.job)
        log_dir = run.local.log_dir if run.local else None
        metric = last_metric(log_dir) if log_dir else None
        if run.status != "running" or not metric or metric["step"] < 1:
            return
        if not (log_dir / contract.CHECKPOINT_FILE).exists():
            return
        # The pid as anyone outside would find it: from run.json.
        record = json.loads((self.run_dir / "run.json").read_text())
        job = next(j for j in record["jobs"] if j["name"] == self.job)
        rank_zero = [p for p in job["processes"] if p["replica"] == self.replica][-1]
        os.kill(rank_zero["pid"], signal.SIGKILL)
        self.killed = rank_zero["pid"]
