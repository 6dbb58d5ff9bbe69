"""Render stage: the plan as one JSON document, evaluated by the Jsonnet templates into objects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fltkc import __version__, contract
from fltkc.expand import Job, Plan
from fltkc.experiment import Experiment, Hardware
from fltkc.jsonnet_backend import evaluate, search_path

MAIN_TEMPLATE = "main.jsonnet"
LABEL_QUEUE = "kueue.x-k8s.io/queue-name"
ANNOTATION_FLUX_SSA = "kustomize.toolkit.fluxcd.io/ssa"
_CONTRACT = {
    "command": list(contract.TRAINER_COMMAND),
    "containerName": contract.CONTAINER_NAME,
    "portName": contract.PORT_NAME,
    "port": contract.DEFAULT_MASTER_PORT,
    "configMountDir": contract.CONFIG_MOUNT_DIR,
    "configKey": contract.CONFIG_KEY,
}


def render(plan: Plan, templates: Path | None = None, backend: str | None = None) -> dict[str, Any]:
    """`{"<file stem>": Kubernetes object}` for every manifest of the plan."""
    document = plan_document(plan)
    tla = {"plan": json.dumps(document, sort_keys=True, separators=(",", ":"))}
    objects: dict[str, Any] = evaluate(MAIN_TEMPLATE, tla, search_path(templates), backend)
    return objects


def experiment_labels(experiment: Experiment) -> dict[str, str]:
    """Labels on every object of the experiment (user labels first, ours win)."""
    return {
        **experiment.labels,
        "app.kubernetes.io/name": "fltkc",
        "app.kubernetes.io/instance": experiment.name,
        "app.kubernetes.io/managed-by": "fltkc",
        "app.kubernetes.io/version": __version__,
        contract.LABEL_EXPERIMENT: experiment.name,
    }


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan in the shape the templates read (see templates/main.jsonnet)."""
    exp = plan.experiment
    labels = experiment_labels(exp)
    volumes = [
        {
            "role": v.role,
            "claimName": v.claim_name,
            "create": v.create,
            "size": v.size,
            "storageClassName": v.storage_class,
            "accessModes": list(v.access_modes),
            "mountPath": v.mount_path,
        }
        for v in (exp.logs, exp.data)
    ]
    return {
        "contract": _CONTRACT,
        "experiment": {
            "name": exp.name,
            "namespace": exp.namespace,
            "labels": labels,
            "image": exp.image,
            "imagePullPolicy": exp.pull_policy,
            "podSecurity": exp.pod_security,
            "runAsUser": exp.run_as_user,
            "fsGroup": exp.fs_group,
        },
        "volumes": volumes,
        "jobs": [_job(exp, labels, job) for job in plan.jobs],
        "schedule": {
            "name": f"{exp.name}-schedule",
            "key": contract.SCHEDULE_FILE,
            "json": schedule_json(plan),
        },
    }


def schedule_json(plan: Plan) -> str:
    """out/schedule.json and the schedule ConfigMap's content (compact: ConfigMaps hold 1 MiB)."""
    return json.dumps(plan.schedule(), sort_keys=True, separators=(",", ":")) + "\n"


def config_json(job: Job) -> str:
    """A job's trainer config as stored in its ConfigMap."""
    return json.dumps(job.config, sort_keys=True, indent=2) + "\n"


def _hardware(hw: Hardware) -> dict[str, Any]:
    return {
        "requests": dict(hw.requests),
        "limits": dict(hw.limits),
        "nodeSelector": dict(hw.node_selector),
        "tolerations": [dict(t) for t in hw.tolerations],
        "priorityClassName": hw.priority_class,
    }


def _job(exp: Experiment, labels: Mapping[str, str], job: Job) -> dict[str, Any]:
    annotations = {contract.ANNOTATION_ARRIVAL: _decimal(job.offset_seconds)}
    if job.suspend:
        # Released on schedule by flipping suspend; Flux must not flip it back.
        annotations[ANNOTATION_FLUX_SSA] = "IfNotPresent"
    env = {
        contract.ENV_CONFIG: contract.CONFIG_PATH,
        contract.ENV_LOG_DIR: f"{exp.logs.mount_path.rstrip('/')}/{exp.name}/{job.name}",
        contract.ENV_DATA_DIR: exp.data.mount_path,
        contract.ENV_JOB_NAME: job.name,
        contract.ENV_SEED: str(job.seed),
    }
    return {
        "name": job.name,
        "configMap": f"{job.name}-config",
        "configJson": config_json(job),
        "labels": {**labels, contract.LABEL_TASK: job.task, contract.LABEL_JOB: job.name},
        "jobLabels": {LABEL_QUEUE: exp.queue_name} if exp.queue_name else {},
        "annotations": annotations,
        "env": [{"name": name, "value": env[name]} for name in contract.COMPILER_ENV],
        "restartPolicy": job.restart_policy,
        "backoffLimit": job.backoff_limit,
        "suspend": job.suspend,
        "workers": job.workers,
        "master": _hardware(job.master),
        "worker": _hardware(job.worker),
    }


def _decimal(seconds: float) -> str:
    """A decimal string without exponent or trailing zeros: 12.5 -> "12.5", 3.0 -> "3"."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"
