"""Hand-written fltkc build output whose container runs a small stand-in trainer; shared helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from fltkc import contract
from fltkc.local.cli import run_command
from fltkc.results.cli import results_command

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
