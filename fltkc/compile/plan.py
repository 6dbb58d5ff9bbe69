"""Every decision about one job's objects: names, labels, annotations, env, resources, config.

The result is the plan document the templates read (see templates/main.jsonnet); templates
only place what this module settles, so a plan is testable without Jsonnet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii as _string  # json.dumps' own, in C
from typing import Any

from fltkc import __version__, contract
from fltkc.compile.expand import Job, Plan
from fltkc.compile.experiment import Experiment, Hardware
from fltkc.compile.plan_trainjob import job_trainjob
from fltkc.compile.streams import priority_annotations, priority_labels

_CONTRACT = {
    "command": list(contract.TRAINER_COMMAND),
    "containerName": contract.CONTAINER_NAME,
    "portName": contract.PORT_NAME,
    "port": contract.DEFAULT_MASTER_PORT,
    "configMountDir": contract.CONFIG_MOUNT_DIR,
    "configKey": contract.CONFIG_KEY,
}


def experiment_labels(experiment: Experiment) -> dict[str, str]:
    """Labels on every object of the experiment (user labels first, ours win)."""
    return {
        **experiment.labels,
        contract.LABEL_APP_NAME: "fltkc",
        contract.LABEL_APP_INSTANCE: experiment.name,
        contract.LABEL_APP_MANAGED_BY: "fltkc",
        contract.LABEL_APP_VERSION: __version__,
        contract.LABEL_EXPERIMENT: experiment.name,
    }


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan in the shape the templates read (see templates/main.jsonnet)."""
    exp = plan.experiment
    labels = experiment_labels(exp)
    memo: ConfigMemo = {}
    jobs = [{**job_head(job), **job_body(exp, labels, job, memo)} for job in plan.jobs]
    return {**plan_head(plan), "jobs": jobs}


def plan_head(plan: Plan) -> dict[str, Any]:
    """Every field of the plan document but `jobs`."""
    exp = plan.experiment
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
            "labels": experiment_labels(exp),
            "image": exp.image,
            "imagePullPolicy": exp.pull_policy,
            "podSecurity": exp.pod_security,
            "runAsUser": exp.run_as_user,
            "fsGroup": exp.fs_group,
        },
        "volumes": volumes,
        "schedule": {
            "name": f"{exp.name}-schedule",
            "key": contract.SCHEDULE_FILE,
            "json": plan.schedule_json,
        },
    }


ConfigMemo = dict[tuple[int, str], tuple[Any, str]]  # (id, indent) -> (container, its JSON)


def config_json(job: Job, memo: ConfigMemo | None = None) -> str:
    """A job's trainer config as stored in its ConfigMap: `json.dumps(sort_keys, indent=2)`.

    json's indenting encoder is pure Python (~50 us a config); the jobs of a variant share
    their config's nested values (expand), so with a `memo` each is encoded once. A memo keeps
    its containers alive, so an id is never reused while it holds it.
    """
    if memo is None:
        return json.dumps(job.config, sort_keys=True, indent=2) + "\n"
    return _indented(job.config, "\n", memo) + "\n"


def _indented(value: Any, pad: str, memo: ConfigMemo) -> str:
    """`json.dumps(value, sort_keys=True, indent=2)` at the depth whose newline is `pad`."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is int:  # not bool: type() is exact
        return int.__repr__(value)  # as json writes ints
    if (kind is not dict and kind is not list) or not value:
        return json.dumps(value)
    known = memo.get((id(value), pad))
    if known is not None and known[0] is value:
        return known[1]
    inner = pad + "  "
    if kind is list:
        text = "[" + ",".join([inner + _indented(item, inner, memo) for item in value]) + pad + "]"
    elif all(type(key) is str for key in value):
        fields = []
        for key in sorted(value):
            item = value[key]
            kind = type(item)  # a config's scalars inline: most of its fields, every job
            if kind is str:
                text = _string(item)
            elif kind is int:
                text = int.__repr__(item)
            else:
                text = _indented(item, inner, memo)
            fields.append(f"{inner}{_string(key)}: {text}")
        text = "{" + ",".join(fields) + pad + "}"
    else:  # json's own key coercion
        text = json.dumps(value, sort_keys=True, indent=2).replace("\n", pad)
    memo[(id(value), pad)] = (value, text)
    return text


def _hardware(hw: Hardware, priority: str | None = None) -> dict[str, Any]:
    """A replica type's placement; a job's drawn priority class overrides the profile's."""
    return {
        "requests": dict(hw.requests),
        "limits": dict(hw.limits),
        "nodeSelector": dict(hw.node_selector),
        "tolerations": [dict(t) for t in hw.tolerations],
        "priorityClassName": priority or hw.priority_class,
    }


def job_head(job: Job) -> dict[str, Any]:
    """A job's scalar fields (JOB_HEAD)."""
    return {
        "name": job.name,
        "configMap": f"{job.name}-config",
        "restartPolicy": job.restart_policy,
        "backoffLimit": job.backoff_limit,
        "suspend": job.suspend,
        "workers": job.workers,
    }


def job_body(
    exp: Experiment, labels: Mapping[str, str], job: Job, memo: ConfigMemo | None = None
) -> dict[str, Any]:
    """The rest of a job's fields (JOB_BODY); `memo` as for config_json."""
    annotations = {contract.ANNOTATION_ARRIVAL: _decimal(job.offset_seconds)}
    labels = {**labels, contract.LABEL_TASK: job.task, contract.LABEL_JOB: job.name}
    labels |= priority_labels(exp, job)
    annotations |= priority_annotations(exp, job)
    if job.suspend:
        # Released on schedule by flipping suspend; Flux must not flip it back.
        annotations[contract.ANNOTATION_FLUX_SSA] = contract.FLUX_SSA_CREATE_ONLY
    env = {
        contract.ENV_CONFIG: contract.CONFIG_PATH,
        contract.ENV_LOG_DIR: f"{exp.logs.mount_path.rstrip('/')}/{exp.name}/{job.name}",
        contract.ENV_DATA_DIR: exp.data.mount_path,
        contract.ENV_JOB_NAME: job.name,
        contract.ENV_SEED: str(job.seed),
    }
    return {
        "configJson": config_json(job, memo),
        "labels": labels,
        "jobLabels": {contract.LABEL_QUEUE: exp.queue_name} if exp.queue_name else {},
        "annotations": annotations,
        "env": [{"name": name, "value": env[name]} for name in contract.COMPILER_ENV],
        "master": _hardware(job.master, job.priority),
        "worker": _hardware(job.worker, job.priority),
        "trainjob": job_trainjob(exp, job) if exp.backend == "trainjob" else None,
    }


def _decimal(seconds: float) -> str:
    """A decimal string without exponent or trailing zeros: 12.5 -> "12.5", 3.0 -> "3"."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"
