"""Backend trainjob: every decision of a job's TrainJob and of the TrainingRuntimes they name.

Kubeflow Trainer v2.3.0 (pkg/runtime/core/trainingruntime.go, plugins/torch, plugins/jobset):
a TrainJob carries image, command, env, numNodes and one resourcesPerNode for the replicated job
labelled trainjob-ancestor-step=trainer; its runtimePatches carry labels, volumes, mounts,
security contexts, tolerations and node selectors but not resources, image, pull policy,
priority class, init containers the runtime lacks, or env of a container named `node`. The rest
goes into a TrainingRuntime the build emits: one per distinct shape, named by its content.

Layouts. Master and workers of one size: one replicated job `node` with numNodes = 1 + workers;
the Torch plugin's PET_NODE_RANK is the pod's completion index, so rank 0 (the server) is pod 0.
A master sized unlike its workers: `node` runs the master alone (numNodes 1, sized by
resourcesPerNode) and a replicated job `worker` runs one Job per worker, sized in the runtime.
PET_NNODES then counts only `node` and PET_NODE_RANK restarts at 0 in every Job, so both roles
get the operator-style RANK (JobSet's job-global-index label: 0 for `node`, 1..N for the
workers), WORLD_SIZE, MASTER_ADDR and MASTER_PORT, which read_env prefers to PET_*.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from fltkc import contract
from fltkc.compile.expand import Job, Plan
from fltkc.compile.experiment import Experiment, Hardware
from fltkc.errors import CompileError, Diagnostic

# Kubernetes retries a Job's failed pods up to backoffLimit unless a podFailurePolicy rule
# fails the Job first. Bad input (exit 2) never heals; a lost peer (129) resumes from the
# checkpoint. ExitCode keeps the training operator's meaning: retry 128-255 only.
USAGE_EXIT_CODES = [contract.EXIT_USAGE]
NON_RETRYABLE_EXIT_CODES = list(range(1, 128))
_RUNTIME_NAME_DIGEST = 8
LABEL_FRAMEWORK = "trainer.kubeflow.org/framework"  # how Trainer's SDK lists runtimes
# kustomize's legacy order (api/resid/gvk.go, kustomize v5) with TrainJob last: the Trainer
# webhook refuses a TrainJob whose TrainingRuntime does not exist yet, and the legacy order puts
# trainer.kubeflow.org TrainJob before TrainingRuntime. Naming any list replaces both defaults.
KUSTOMIZE_ORDER_FIRST = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
KUSTOMIZE_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def _same_size(job: Job) -> bool:
    """Whether one pod template fits master and workers (the profile name aside)."""
    return job.workers == 0 or _placement(job.master) == _placement(job.worker)


def _placement(hw: Hardware) -> tuple[Any, ...]:
    return (hw.requests, hw.limits, hw.node_selector, hw.tolerations, hw.priority_class)


def waits_for(exp: Experiment, job: Job) -> str | None:
    """The dataset whose ready marker the job's pods wait for (see plan_workloads)."""
    dataset = job.config["dataset"]
    if not exp.data_prep or dataset.get("source", "files") != "files":
        return None
    return str(dataset["name"])


def job_policy(job: Job) -> dict[str, Any]:
    """The batch Job fields of every replicated job: backoffLimit and podFailurePolicy."""
    if job.restart_policy == "Never":
        return {"backoffLimit": 0}
    codes = NON_RETRYABLE_EXIT_CODES if job.restart_policy == "ExitCode" else USAGE_EXIT_CODES
    rules = [
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": codes}},
        # An evicted or preempted pod is not the trainer's failure: retry it for free.
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    ]
    return {"backoffLimit": job.backoff_limit, "podFailurePolicy": {"rules": rules}}


def _resources(hw: Hardware) -> dict[str, Any]:
    return {"requests": dict(hw.requests), "limits": dict(hw.limits)}


def runtime_shape(exp: Experiment, job: Job) -> dict[str, Any]:
    """Everything of the job's runtime but its name and labels (equal shapes share one)."""
    wait = waits_for(exp, job)
    node = {
        "replicatedJob": contract.TRAINJOB_NODE,
        "container": contract.TRAINJOB_NODE,
        "trainer": True,
        "replicas": 1,
        "resources": None,  # the TrainJob's trainer.resourcesPerNode
        "priorityClassName": job.priority or job.master.priority_class,
        "wait": wait,
    }
    roles = [node]
    if not _same_size(job):
        roles.append(
            {
                "replicatedJob": contract.TRAINJOB_WORKER,
                "container": contract.TRAINJOB_WORKER,
                "trainer": False,
                "replicas": job.workers,
                "resources": _resources(job.worker),
                "priorityClassName": job.priority or job.worker.priority_class,
                "wait": wait,
            }
        )
    return {"jobPolicy": job_policy(job), "roles": roles}


def runtime_name(exp: Experiment, shape: Mapping[str, Any]) -> str:
    """`<experiment>-runtime-<digest>`: stable for a shape, whatever else the experiment holds."""
    text = json.dumps(shape, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).hexdigest()[:_RUNTIME_NAME_DIGEST]
    return f"{exp.name}-runtime-{digest}"


def master_endpoint(job: Job) -> str:
    """The master pod's name under the JobSet's headless Service (the Torch plugin's format)."""
    return f"{job.name}-{contract.TRAINJOB_NODE}-0-0.{job.name}"


def _rank_env(job: Job, rank: dict[str, Any]) -> list[dict[str, Any]]:
    """The operator-style rendezvous env of the split layout (see the module docstring)."""
    return [
        {"name": contract.ENV_MASTER_ADDR, "value": master_endpoint(job)},
        {"name": contract.ENV_MASTER_PORT, "value": str(contract.TORCH_RUNTIME_PORT)},
        {"name": contract.ENV_WORLD_SIZE, "value": str(1 + job.workers)},
        {"name": contract.ENV_RANK, **rank},
    ]


def job_trainjob(exp: Experiment, job: Job) -> dict[str, Any]:
    """The TrainJob fields of one job beside its compiler env (job.env, on every trainer).

    `trainerEnv` and a role's `env` are added to job.env; a role without `env` gets none in
    the patch (the webhook refuses env for a container named node: trainer.env carries it).
    """
    if exp.runtime_ref is not None:
        ref = {"name": exp.runtime_ref.name, "kind": exp.runtime_ref.kind}
    else:
        ref = {"name": runtime_name(exp, runtime_shape(exp, job)), "kind": "TrainingRuntime"}
    ref = {"apiGroup": contract.TRAINER_GROUP, **ref}
    node = {"replicatedJob": contract.TRAINJOB_NODE, "container": contract.TRAINJOB_NODE}
    node_role = {**node, "hardware": "master", "env": None}
    if _same_size(job):
        roles = [node_role]
        return {"runtimeRef": ref, "numNodes": 1 + job.workers, "trainerEnv": [], "roles": roles}
    label = f"metadata.labels['{contract.LABEL_JOB_GLOBAL_INDEX}']"
    worker_rank = {"valueFrom": {"fieldRef": {"fieldPath": label}}}
    worker = {"replicatedJob": contract.TRAINJOB_WORKER, "container": contract.TRAINJOB_WORKER}
    return {
        "runtimeRef": ref,
        "numNodes": 1,
        "trainerEnv": _rank_env(job, {"value": "0"}),
        "roles": [node_role, {**worker, "hardware": "worker", "env": _rank_env(job, worker_rank)}],
    }


def trainjob_section(plan: Plan) -> dict[str, Any] | None:
    """The plan document's `trainjob` section: the runtimes to emit (None: backend pytorchjob)."""
    from fltkc.compile.plan import experiment_labels  # plan.py imports this module

    exp = plan.experiment
    if exp.backend != "trainjob":
        return None
    labels = {
        **experiment_labels(exp),
        contract.LABEL_COMPONENT: "runtime",
        LABEL_FRAMEWORK: "torch",
    }
    runtimes: dict[str, dict[str, Any]] = {}
    if exp.runtime_ref is None:
        for job in plan.jobs:
            shape = runtime_shape(exp, job)
            runtimes.setdefault(runtime_name(exp, shape), shape)
    return {
        "manager": contract.RUNTIME_PATCH_MANAGER,
        "ancestorLabel": contract.LABEL_TRAINJOB_ANCESTOR,
        "ancestorTrainer": contract.TRAINJOB_ANCESTOR_TRAINER,
        "runtimes": [
            {"name": name, "labels": labels, **runtimes[name]} for name in sorted(runtimes)
        ],
    }


def kustomize_sort_options(plan: Plan) -> dict[str, Any] | None:
    """kustomization.yaml's sortOptions: TrainJobs after their runtimes (None: kustomize's)."""
    if plan.experiment.backend != "trainjob":
        return None
    return {
        "order": "legacy",
        "legacySortOptions": {
            "orderFirst": list(KUSTOMIZE_ORDER_FIRST),
            "orderLast": [*KUSTOMIZE_ORDER_LAST, "TrainJob"],
        },
    }


def check_trainjob(plan: Plan) -> None:
    """What a TrainJob on a runtime the build does not emit cannot carry: refuse it, located."""
    exp = plan.experiment
    if exp.backend != "trainjob" or exp.runtime_ref is None:
        return
    source = exp.source
    diagnostics: list[Diagnostic] = []
    ref = ("spec", "trainjob", "runtimeRef")
    for task in exp.tasks:
        where = ("spec", "tasks", task.index, "replicas")
        if task.workers and _placement(task.master) != _placement(task.worker):
            message = (
                f"master profile {task.master.profile} and worker profile {task.worker.profile} "
                "differ, but every node of a runtime named by spec.trainjob.runtimeRef gets one "
                "size; use one profile for master and workers, or drop runtimeRef"
            )
            diagnostics.append(source.diag((*where, "workers", "profile"), message))
        if task.master.priority_class is not None:
            message = (
                f"profile {task.master.profile} sets priorityClassName, which a TrainJob cannot "
                "set on a runtime named by spec.trainjob.runtimeRef; set it in that runtime"
            )
            diagnostics.append(source.diag((*where, "master", "profile"), message))
    if any(waits_for(exp, job) for job in plan.jobs):
        message = (
            "the TrainJobs cannot add the wait-data init container to a runtime the build does "
            "not emit; set spec.dataPrep.enabled: false (and prepare the data beforehand) or "
            "drop runtimeRef"
        )
        diagnostics.append(source.diag(ref, message))
    if diagnostics:
        raise CompileError(sorted(diagnostics))
