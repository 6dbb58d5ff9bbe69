"""Render stage: the plan as one JSON document, evaluated by the Jsonnet templates into objects."""

from __future__ import annotations

import itertools
import json
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fltkc import __version__, contract
from fltkc.expand import Job, Plan
from fltkc.experiment import Experiment, Hardware
from fltkc.jsonnet_backend import (
    backend_name,
    evaluate,
    evaluate_snippet,
    map_forked,
    search_path,
)
from fltkc.serialize import yaml_documents, yaml_of_json

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
# A chunk's Jsonnet heap grows by ~140 KB per job rendered plus ~7 KB per job of the plan (all
# object names are derived in every chunk, ~13 us a job) and is only dropped with its process:
# at most MAX_JOBS_PER_CHUNK jobs (a worker near 150 MB at 10,000 jobs), at least
# MIN_JOBS_PER_CHUNK, up to PARALLEL_CHUNKS chunks when they can share out cores. A function of
# the plan alone, so the chunks, and which error is reported, never depend on the machine.
MAX_JOBS_PER_CHUNK = 500
MIN_JOBS_PER_CHUNK = 250
PARALLEL_CHUNKS = 4
MAX_WORKERS = 8
# A job's scalar fields travel in the plan JSON every chunk parses (main.jsonnet names every
# object); the rest is fetched, by a native callback, only for the jobs the chunk renders.
JOB_HEAD = ("name", "configMap", "restartPolicy", "backoffLimit", "suspend", "workers")
JOB_BODY = ("configJson", "labels", "jobLabels", "annotations", "env", "master", "worker")
DRIVER_NAME = "fltkc-render-chunk.jsonnet"


def render_documents(
    plan: Plan,
    templates: Path | None = None,
    backend: str | None = None,
    sections: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """`{"<file stem>": YAML}` for every manifest; `sections` are extra top-level plan fields.

    Same bytes as one evaluation of the whole plan. With rjsonnet a large plan is rendered in
    chunks by forked workers (bounded memory, all cores); every chunk evaluates main.jsonnet on
    the whole plan and manifests only its share of the objects, so templates see one plan.
    """
    roots = search_path(templates)
    if backend_name(backend) != "rjsonnet":
        document = {**plan_document(plan), **(sections or {})}
        tla = {"plan": json.dumps(document, sort_keys=True, separators=(",", ":"))}
        return yaml_documents(evaluate(MAIN_TEMPLATE, tla, roots, backend))
    chunks = chunk_count(len(plan.jobs))
    render_chunk = _chunk_renderer(plan, sections or {}, roots)
    if chunks <= 1:
        return yaml_of_json(render_chunk("all"))
    # Every pass leaves its Jsonnet heap behind, so even the names pass runs in a child.
    (names,) = map_forked(lambda _: json.dumps(render_chunk("names")).encode(), 1, 1)
    selections = deal(json.loads(names), chunks)
    workers = min(chunks, MAX_WORKERS, len(os.sched_getaffinity(0)))

    def work(chunk: int) -> bytes:
        return pickle.dumps(yaml_of_json(render_chunk(selections[chunk])))

    documents: dict[str, bytes] = {}
    for part in map_forked(work, chunks, workers):
        documents.update(pickle.loads(part))
    return documents


def chunk_count(jobs: int) -> int:
    """How many chunks render a plan of `jobs` jobs (see MAX_JOBS_PER_CHUNK)."""
    at_least = -(-jobs // MAX_JOBS_PER_CHUNK)
    return max(at_least, min(PARALLEL_CHUNKS, jobs // MIN_JOBS_PER_CHUNK), 1)


def deal(stems: list[str], chunks: int) -> list[list[str]]:
    """Split sorted file stems into chunks, each kind (the stem up to its first '-') evenly.

    A job's objects of different kinds then tend to share a chunk, which fetches its body once.
    """
    selections: list[list[str]] = [[] for _ in range(chunks)]
    for _, group in itertools.groupby(stems, key=lambda stem: stem.split("-", 1)[0]):
        stems_of_kind = list(group)
        size = len(stems_of_kind)
        for chunk, selection in enumerate(selections):
            selection += stems_of_kind[size * chunk // chunks : size * (chunk + 1) // chunks]
    return selections


def _chunk_renderer(
    plan: Plan, sections: Mapping[str, Any], roots: tuple[Path, ...]
) -> Callable[[str | list[str]], Any]:
    """`select` -> main.jsonnet's file stems ("names"), or their objects as JSON texts."""
    exp = plan.experiment
    labels = experiment_labels(exp)
    head = {**_plan_head(plan), **sections}
    rows = [[row[key] for key in JOB_HEAD] for row in map(_job_head, plan.jobs)]
    spine = json.dumps({"plan": head, "rows": rows}, sort_keys=True, separators=(",", ":"))

    def job_body(index: float) -> str:
        # JSON text: std.parseJson builds it several times faster than rjsonnet converts a dict.
        body = _job_body(exp, labels, plan.jobs[int(index)])
        return json.dumps(body, separators=(",", ":"))

    natives = {"fltkcJobBody": (("index",), job_body)}

    def render_chunk(select: str | list[str]) -> Any:
        tla = {"spine": spine, "select": json.dumps(select)}
        return evaluate_snippet(DRIVER_NAME, _DRIVER, roots, "rjsonnet", tla, natives)

    return render_chunk


def _driver() -> str:
    """Rebuilds the plan (each job's body a lazy native call) and manifests the selected objects."""
    head = ", ".join(f"{json.dumps(key)}: row[{i}]" for i, key in enumerate(JOB_HEAD))
    body = ", ".join(f"{json.dumps(key)}: body[{json.dumps(key)}]" for key in JOB_BODY)
    fetch = "std.parseJson(std.native('fltkcJobBody')(index))"
    return f"""function(spine, select)
  local s = std.parseJson(spine);
  local job(row, index) = {{ {head}, local body = {fetch}, {body} }};
  local plan = s.plan {{ jobs: [job(s.rows[i], i) for i in std.range(0, std.length(s.rows) - 1)] }};
  local objects = (import '{MAIN_TEMPLATE}')(plan);
  local keys = std.parseJson(select);
  if keys == 'names' then std.objectFields(objects)
  else {{
    [key]: std.manifestJsonMinified(objects[key])
    for key in (if keys == 'all' then std.objectFields(objects) else keys)
  }}
"""


_DRIVER = _driver()


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
    jobs = [{**_job_head(job), **_job_body(exp, labels, job)} for job in plan.jobs]
    return {**_plan_head(plan), "jobs": jobs}


def _plan_head(plan: Plan) -> dict[str, Any]:
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


def _job_head(job: Job) -> dict[str, Any]:
    """A job's scalar fields (JOB_HEAD)."""
    return {
        "name": job.name,
        "configMap": f"{job.name}-config",
        "restartPolicy": job.restart_policy,
        "backoffLimit": job.backoff_limit,
        "suspend": job.suspend,
        "workers": job.workers,
    }


def _job_body(exp: Experiment, labels: Mapping[str, str], job: Job) -> dict[str, Any]:
    """The rest of a job's fields (JOB_BODY)."""
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
        "configJson": config_json(job),
        "labels": {**labels, contract.LABEL_TASK: job.task, contract.LABEL_JOB: job.name},
        "jobLabels": {LABEL_QUEUE: exp.queue_name} if exp.queue_name else {},
        "annotations": annotations,
        "env": [{"name": name, "value": env[name]} for name in contract.COMPILER_ENV],
        "master": _hardware(job.master),
        "worker": _hardware(job.worker),
    }


def _decimal(seconds: float) -> str:
    """A decimal string without exponent or trailing zeros: 12.5 -> "12.5", 3.0 -> "3"."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"
