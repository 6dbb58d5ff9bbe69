"""Decisions for the workloads beside the jobs: release, data prep, Kueue, TensorBoard, Argo CD.

Each function returns the plan-document section its template places (None: not emitted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from fltkc import contract
from fltkc.compile.expand import Job, Plan
from fltkc.compile.experiment import DEFAULT_PROFILE, Experiment, Hardware, resolve_hardware
from fltkc.compile.plan import experiment_labels
from fltkc.compile.quantity import Quantity, canonical, parse
from fltkc.compile.streams import priority_section

# Small fixed sizes: the release polls the API, the wait is a stat loop, TensorBoard reads logs;
# data preparation unpacks archives (CIFAR's tarball is 170 MB).
RELEASE_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}
WAIT_RESOURCES = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}
DATAPREP_RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}
TENSORBOARD_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "512Mi"},
    "limits": {"memory": "1Gi"},
}
RELEASE_POLL_SECONDS = 5
DOWNLOADABLE = ("mnist", "fashion-mnist", "cifar10", "cifar100")  # torchvision; reddit is not


def workloads_document(plan: Plan) -> dict[str, Any]:
    """The `workloads` section of the plan document (see templates/main.jsonnet)."""
    exp = plan.experiment
    datasets = dataset_modes(plan.jobs) if exp.data_prep else {}
    return {
        "placement": _placement(exp),
        "release": release_section(plan),
        "dataprep": _dataprep(exp, datasets),
        "waitData": _wait_commands(plan.jobs, exp, datasets),
        "queueGate": exp.queue_name is not None and exp.release == "suspend",
        "queues": queues_section(plan),
        "tensorboard": _tensorboard(exp),
        "argocd": argocd_section(exp),
        **priority_section(
            exp.priority_classes, experiment_labels(exp), exp.queue_name is not None
        ),
    }


def _labels(exp: Experiment, component: str) -> dict[str, str]:
    return {**experiment_labels(exp), contract.LABEL_COMPONENT: component}


def _placement(exp: Experiment) -> dict[str, Any]:
    """Helper pods go where the default profile's pods may go (its tolerations and selector)."""
    profiles = exp.source.document["spec"].get("profiles", {})
    hw = resolve_hardware(DEFAULT_PROFILE, profiles)
    return {
        "tolerations": [dict(t) for t in hw.tolerations],
        "nodeSelector": dict(hw.node_selector),
    }


def state_path(exp: Experiment) -> str:
    """Where the release keeps its start time and records."""
    return f"{exp.logs.mount_path.rstrip('/')}/{exp.name}/{contract.RELEASE_STATE_FILE}"


def release_section(plan: Plan) -> dict[str, Any] | None:
    """The release Job and its RBAC, when any job waits suspended for its arrival."""
    exp = plan.experiment
    if not any(job.suspend for job in plan.jobs):
        return None
    command = [
        "python", "-m", contract.RELEASE_MODULE,
        "--schedule", f"{contract.SCHEDULE_MOUNT_DIR}/{contract.SCHEDULE_FILE}",
        "--state", state_path(exp),
        "--experiment", exp.name,
        "--poll-seconds", str(RELEASE_POLL_SECONDS),
    ]  # fmt: skip
    if exp.queue_name is not None:
        command += ["--queue", exp.queue_name]
    if exp.backend != "pytorchjob":
        command += ["--backend", exp.backend]
    target = contract.RELEASE_TARGETS[exp.backend]
    return {
        "name": f"{exp.name}-release",
        "labels": _labels(exp, "release"),
        "command": command,
        "scheduleMountDir": contract.SCHEDULE_MOUNT_DIR,
        "namespaceEnv": contract.ENV_NAMESPACE,
        "resources": RELEASE_RESOURCES,
        "rules": [
            {
                "apiGroups": [target.group],
                "resources": [target.plural],
                "verbs": list(contract.RELEASE_VERBS),
            }
        ],
    }


def dataset_modes(jobs: Iterable[Job]) -> dict[str, str]:
    """Dataset -> download | check, over the jobs that read dataset files (sorted by name).

    A torchvision dataset is downloaded when any job allows it; reddit, and every dataset no job
    lets download, is only checked (it must already be on the volume or baked into the image).
    """
    modes: dict[str, str] = {}
    for job in jobs:
        dataset = job.config["dataset"]
        if dataset.get("source", "files") != "files":
            continue
        name = dataset["name"]
        download = dataset.get("download", False) and name in DOWNLOADABLE
        if download or name not in modes:
            modes[name] = "download" if download else "check"
    return dict(sorted(modes.items()))


def _dataprep(exp: Experiment, datasets: Mapping[str, str]) -> dict[str, Any] | None:
    if not datasets:
        return None
    command = [
        "python",
        "-m",
        contract.DATAPREP_MODULE,
        "prepare",
        "--data-dir",
        exp.data.mount_path,
    ]
    return {
        "name": f"{exp.name}-dataprep",
        "labels": _labels(exp, "dataprep"),
        "command": command + [f"{name}={mode}" for name, mode in datasets.items()],
        "resources": DATAPREP_RESOURCES,
    }


def _wait_commands(
    jobs: Iterable[Job], exp: Experiment, datasets: Mapping[str, str]
) -> dict[str, Any]:
    """The wait-data init container, and job name -> the dataset whose marker it waits for."""
    if not datasets:
        return {"jobs": {}}
    waits = {
        job.name: job.config["dataset"]["name"]
        for job in jobs
        if job.config["dataset"].get("source", "files") == "files"
    }
    command = ["python", "-m", contract.DATAPREP_MODULE, "wait", "--data-dir", exp.data.mount_path]
    return {"command": command, "resources": WAIT_RESOURCES, "jobs": waits}


def _job_requests(job: Job) -> dict[str, Decimal]:
    """What one job asks of the cluster: its pods' requests (a limit alone stands for one)."""
    total: dict[str, Decimal] = {}

    def add(hw: Hardware, count: int) -> None:
        for name, value in {**hw.limits, **hw.requests}.items():
            total[name] = total.get(name, Decimal(0)) + parse(value).value * count

    add(job.master, 1)
    add(job.worker, job.workers)
    return total


def queue_quota(jobs: Iterable[Job]) -> dict[str, str]:
    """Nominal quota: per resource, the sum over tasks of each task's largest job.

    One job of every task fits at once; no job is larger than the quota, so none is
    inadmissible. Formats follow the resource (binary for memory and storage).
    """
    largest: dict[str, dict[str, Decimal]] = {}
    for job in jobs:
        task = largest.setdefault(job.task, {})
        for name, value in _job_requests(job).items():
            task[name] = max(task.get(name, Decimal(0)), value)
    quota: dict[str, Decimal] = {}
    for task in largest.values():
        for name, value in task.items():
            quota[name] = quota.get(name, Decimal(0)) + value
    binary = ("memory", "ephemeral-storage")
    return {
        name: canonical(Quantity(value, "BinarySI" if name in binary else "DecimalSI"))
        for name, value in sorted(quota.items())
    }


def queues_section(plan: Plan) -> dict[str, Any] | None:
    exp = plan.experiment
    if exp.queue_name is None or not exp.emit_queues:
        return None
    quota = queue_quota(plan.jobs)
    return {
        "labels": _labels(exp, "queue"),
        "flavor": f"{exp.name}-flavor",
        "clusterQueue": exp.name,
        "localQueue": exp.queue_name,
        "resources": [{"name": name, "nominalQuota": value} for name, value in quota.items()],
    }


def _tensorboard(exp: Experiment) -> dict[str, Any] | None:
    if exp.tensorboard is None:
        return None
    logdir = f"{exp.logs.mount_path.rstrip('/')}/{exp.name}"
    return {
        "name": f"{exp.name}-tensorboard",
        "labels": _labels(exp, "tensorboard"),
        "image": exp.tensorboard.image,
        "port": exp.tensorboard.port,
        "command": ["tensorboard", "--logdir", logdir, "--bind_all", "--port"],
        "resources": TENSORBOARD_RESOURCES,
    }


def argocd_section(exp: Experiment) -> dict[str, Any] | None:
    argo = exp.argocd
    if argo is None:
        return None
    return {
        "name": exp.name,
        "namespace": argo.application_namespace,
        "labels": _labels(exp, "gitops"),
        "project": argo.project,
        "source": {
            "repoURL": argo.repo_url,
            "path": argo.path,
            "targetRevision": argo.target_revision,
        },
        "destination": {"server": argo.server, "namespace": argo.namespace},
        "automated": argo.automated,
        "ignoreDifferences": [_ignore_differences(exp)],
    }


# Argo CD must not revert what the release or Kueue change on a live job: suspend and the queue
# label; on a TrainJob also runtimePatches entries of other managers (Kueue's) and the `time`
# the Trainer webhook stamps on every entry.
_QUEUE_LABEL_POINTER = "/metadata/labels/" + contract.LABEL_QUEUE.replace("/", "~1")


def _ignore_differences(exp: Experiment) -> dict[str, Any]:
    target = contract.RELEASE_TARGETS[exp.backend]
    suspend = "/" + "/".join(target.suspend)
    if exp.backend == "pytorchjob":
        return {
            "group": target.group,
            "kind": "PyTorchJob",
            "jsonPointers": [suspend, _QUEUE_LABEL_POINTER],
        }
    manager = contract.RUNTIME_PATCH_MANAGER
    return {
        "group": target.group,
        "kind": "TrainJob",
        "jsonPointers": [suspend, _QUEUE_LABEL_POINTER],
        "jqPathExpressions": [
            f'.spec.runtimePatches[] | select(.manager != "{manager}")',
            ".spec.runtimePatches[].time",
        ],
    }
