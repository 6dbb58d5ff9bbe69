"""A TrainJob and its TrainingRuntime merged as Kubeflow Trainer v2.3.0 does: one pod per node.

pkg/runtime/core/trainingruntime.go: the runtime's JobSet template, each runtimePatches entry
applied as a strategic merge patch, then trainer.resourcesPerNode merged into the container
`node` of the replicated job labelled trainjob-ancestor-step=trainer, whose pod count is
trainer.numNodes (else mlPolicy.numNodes). plugins/torch: trainer.env, PET_* and port 29500 into
that container; plugins/jobset/builder.go: trainer.image, command and args too. Every other
replicated job runs `replicas` Jobs of `parallelism` pods (default 1 each).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fltkc import contract

# Strategic-merge keys of the PodSpec lists a runtime or a patch holds (k8s.io/api/core/v1).
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "replicatedJobs": "name",
}


class TrainJobError(ValueError):
    """A TrainJob that the Trainer would not run: the message says what is wrong."""


def strategic_merge(base: Any, patch: Any, key: str = "") -> Any:
    """A strategic merge patch of the subset Kubernetes pod templates use (null deletes)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for name, value in patch.items():
            if value is None:
                out.pop(name, None)
            else:
                out[name] = strategic_merge(out.get(name), value, name)
        return out
    merge_key = _MERGE_KEYS.get(key)
    if merge_key and isinstance(base, list) and isinstance(patch, list):
        out_list = [copy.deepcopy(item) for item in base]
        index = {item.get(merge_key): i for i, item in enumerate(out_list)}
        for item in patch:
            if item.get(merge_key) in index:
                i = index[item[merge_key]]
                out_list[i] = strategic_merge(out_list[i], item)
            else:
                index[item.get(merge_key)] = len(out_list)
                out_list.append(copy.deepcopy(item))
        return out_list
    return copy.deepcopy(patch)


def upsert(items: list[dict[str, Any]], new: Sequence[Mapping[str, Any]], key: str) -> None:
    """apply.UpsertEnvVars / UpsertPort: replace the item of the same key, else append."""
    for item in new:
        found = [i for i, old in enumerate(items) if old.get(key) == item.get(key)]
        if found:
            items[found[0]] = dict(item)
        else:
            items.append(dict(item))


@dataclass(frozen=True)
class ReplicatedJob:
    """One replicated job of the JobSet a TrainJob becomes: `jobs` Jobs of `pods` pods each."""

    name: str
    trainer: bool  # the ancestor-trainer job: the Torch plugin's env goes to its `node`
    jobs: int
    pods: int
    job_spec: Mapping[str, Any]  # the batch Job spec but its pod template
    pod: Mapping[str, Any]  # the pod template: metadata and spec


def _is_trainer(rjob: Mapping[str, Any]) -> bool:
    labels = ((rjob.get("template") or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(contract.LABEL_TRAINJOB_ANCESTOR) == contract.TRAINJOB_ANCESTOR_TRAINER


def _merge_resources(container: dict[str, Any], override: Mapping[str, Any]) -> None:
    resources = dict(container.get("resources") or {})
    for part in ("requests", "limits"):
        if override.get(part):
            resources[part] = {**(resources.get(part) or {}), **override[part]}
    container["resources"] = resources


def _trainer_container(trainer: Mapping[str, Any], pod: dict[str, Any], where: str) -> None:
    containers = pod["spec"].get("containers") or []
    nodes = [c for c in containers if c.get("name") == contract.TRAINJOB_NODE]
    if not nodes:
        raise TrainJobError(f"{where}: the trainer job has no container {contract.TRAINJOB_NODE}")
    node = nodes[0]
    if trainer.get("resourcesPerNode"):
        _merge_resources(node, trainer["resourcesPerNode"])
    for field in ("image", "command", "args"):
        if trainer.get(field) is not None:
            node[field] = copy.deepcopy(trainer[field])
    env = list(node.get("env") or [])
    upsert(env, trainer.get("env") or [], "name")
    node["env"] = env
    ports = list(node.get("ports") or [])
    upsert(ports, [{"containerPort": contract.TORCH_RUNTIME_PORT}], "containerPort")
    node["ports"] = ports


def replicated_jobs(trainjob: Mapping[str, Any], runtime: Mapping[str, Any]) -> list[ReplicatedJob]:
    """The replicated jobs of `trainjob` on `runtime`, in the runtime's order, merged."""
    name = (trainjob.get("metadata") or {}).get("name", "?")
    where = f"TrainJob {name}"
    spec = trainjob.get("spec") or {}
    runtime_spec = runtime.get("spec") or {}
    template = copy.deepcopy(((runtime_spec.get("template") or {}).get("spec")) or {})
    order = [r.get("name") for r in template.get("replicatedJobs") or []]
    for patch in spec.get("runtimePatches") or []:
        patch_spec = (((patch.get("trainingRuntimeSpec") or {}).get("template")) or {}).get("spec")
        for rjob in (patch_spec or {}).get("replicatedJobs") or []:
            if rjob.get("name") not in order:
                raise TrainJobError(f"{where}: patches replicated job {rjob.get('name')!r}, "
                                    "which its runtime does not have")  # fmt: skip
        template = strategic_merge(template, patch_spec or {})
    trainer = spec.get("trainer") or {}
    ml_policy = runtime_spec.get("mlPolicy") or {}
    jobs = []
    for rjob in template.get("replicatedJobs") or []:
        job_template = copy.deepcopy(rjob.get("template") or {})
        job_spec = dict(job_template.get("spec") or {})
        pod = job_spec.pop("template", None) or {}
        pod = {"metadata": pod.get("metadata") or {}, "spec": pod.get("spec") or {}}
        is_trainer = _is_trainer(rjob)
        if is_trainer:
            pods = int(trainer.get("numNodes") or ml_policy.get("numNodes") or 1)
            _trainer_container(trainer, pod, where)
            jobs_count = 1  # builder.go forces replicas 1 for the trainer
        else:
            pods = int(job_spec.get("parallelism") or 1)
            jobs_count = int(rjob.get("replicas") or 1)
        jobs.append(ReplicatedJob(str(rjob["name"]), is_trainer, jobs_count, pods, job_spec, pod))
    if not any(j.trainer for j in jobs):
        raise TrainJobError(f"{where}: its runtime has no replicated job labelled "
                            f"{contract.LABEL_TRAINJOB_ANCESTOR}=trainer")  # fmt: skip
    return jobs


def num_proc_per_node(trainjob: Mapping[str, Any]) -> str:
    """PET_NPROC_PER_NODE: trainer.numProcPerNode, else the plugin's "auto"."""
    value = ((trainjob.get("spec") or {}).get("trainer") or {}).get("numProcPerNode")
    return "auto" if value is None else str(value)


def fail_job_exit_codes(job_spec: Mapping[str, Any]) -> tuple[int, ...]:
    """Exit codes a podFailurePolicy FailJob rule names (operator In; NotIn is turned around)."""
    codes: set[int] = set()
    for rule in (job_spec.get("podFailurePolicy") or {}).get("rules") or []:
        on_codes = rule.get("onExitCodes")
        if rule.get("action") != "FailJob" or not on_codes:
            continue
        values = {int(v) for v in on_codes.get("values") or []}
        codes |= values if on_codes.get("operator") == "In" else set(range(1, 256)) - values
    return tuple(sorted(codes))
