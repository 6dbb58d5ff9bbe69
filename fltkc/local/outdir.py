"""Read the PyTorchJobs (or TrainJobs and TrainingRuntimes) and ConfigMaps of `fltkc build`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from fltkc import contract
from fltkc.errors import FltkcError
from fltkc.local.trainjob import (
    ReplicatedJob,
    TrainJobError,
    fail_job_exit_codes,
    num_proc_per_node,
    replicated_jobs,
)

RestartPolicy = Literal["Always", "OnFailure", "Never", "ExitCode"]
CleanPodPolicy = Literal["None", "Running", "All"]
ReplicaType = Literal["Master", "Worker"]
VolumeKind = Literal["configMap", "persistentVolumeClaim", "emptyDir"]

RESTART_POLICIES: tuple[RestartPolicy, ...] = ("Always", "OnFailure", "Never", "ExitCode")
CLEAN_POD_POLICIES: tuple[CleanPodPolicy, ...] = ("None", "Running", "All")
REPLICA_TYPES: tuple[ReplicaType, ...] = ("Master", "Worker")
# Without runPolicy.backoffLimit the operator retries for ever; a local run must end, so
# it takes the Kubernetes Job default instead.
DEFAULT_BACKOFF_LIMIT = 6


class ManifestError(FltkcError):
    """An output directory that cannot be run: the message names the file and the fix."""


@dataclass(frozen=True)
class Mount:
    volume: str
    mount_path: str
    sub_path: str = ""


@dataclass(frozen=True)
class Volume:
    name: str
    kind: VolumeKind
    source: str  # the ConfigMap name or the PVC claimName; empty for emptyDir
    items: tuple[tuple[str, str], ...] = ()  # configMap items: key -> relative path


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str = ""
    field_path: str = ""  # valueFrom.fieldRef.fieldPath, resolved per replica


@dataclass(frozen=True)
class ReplicaSpec:
    type: ReplicaType
    replicas: int
    restart_policy: RestartPolicy
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: tuple[EnvVar, ...]
    mounts: tuple[Mount, ...]
    volumes: tuple[Volume, ...]
    # A TrainJob's replicated job (see fltkc.local.trainjob): its name, whether the Torch
    # plugin's env goes to it, pods per Job, the JobSet index of its first Job, and its Jobs'
    # failure policy (each Job its own backoffLimit; these exit codes fail the job at once).
    replicated_job: str = ""
    trainer: bool = False
    pods_per_job: int = 1
    first_global_index: int = 0
    job_backoff_limit: int = 0
    fail_job_exit_codes: tuple[int, ...] = ()

    def replica_name(self, index: int) -> str:
        """master-0, worker-1; for a TrainJob the JobSet pod suffix <job>-<job index>-<pod>."""
        if not self.replicated_job:
            return f"{self.type.lower()}-{index}"
        job_index, pod_index = divmod(index, self.pods_per_job)
        return f"{self.replicated_job}-{job_index}-{pod_index}"


@dataclass(frozen=True)
class JobSpec:
    """A PyTorchJob, or a TrainJob read as one (kind TrainJob; Master is its trainer job)."""

    name: str
    experiment: str
    task: str
    arrival: float  # seconds from the start of the experiment
    backoff_limit: int
    clean_pod_policy: CleanPodPolicy
    nproc_per_node: str
    replica_specs: tuple[ReplicaSpec, ...]  # Master first
    file: Path
    kind: Literal["PyTorchJob", "TrainJob"] = "PyTorchJob"
    priority: int = 0  # annotation fltkc.dev/priority-value: waiting jobs start highest first

    @property
    def total_replicas(self) -> int:
        return sum(spec.replicas for spec in self.replica_specs)


@dataclass(frozen=True)
class OutDir:
    path: Path
    experiment: str
    jobs: tuple[JobSpec, ...]  # in arrival order: (arrival, name)
    config_maps: dict[str, dict[str, str]]  # name -> data


def _documents(path: Path) -> list[dict[str, Any]]:
    try:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except yaml.YAMLError as err:
        raise ManifestError(
            f"{path}: not valid YAML ({err}); rebuild it with fltkc build"
        ) from None
    return [doc for doc in docs if isinstance(doc, dict)]


def _need(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise ManifestError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def _choice(value: str, valid: tuple[str, ...], where: str) -> str:
    if value not in valid:
        raise ManifestError(f"{where}: {value!r} is not one of {', '.join(valid)}")
    return value


def _env(items: list[Any], where: str) -> tuple[EnvVar, ...]:
    env = []
    for item in items:
        name = _need(item.get("name"), str, f"{where}.env")
        source = item.get("valueFrom")
        if source is None:
            env.append(EnvVar(name, str(item.get("value", ""))))
        elif isinstance(source, dict) and "fieldRef" in source:
            env.append(EnvVar(name, field_path=str(source["fieldRef"].get("fieldPath", ""))))
        else:
            raise ManifestError(f"{where}.env[{name}]: only value and fieldRef run locally")
    return tuple(env)


def _volume(item: dict[str, Any], where: str) -> Volume:
    name = _need(item.get("name"), str, f"{where}.volumes")
    if "configMap" in item:
        cm = item["configMap"]
        items = tuple((str(i["key"]), str(i["path"])) for i in cm.get("items") or ())
        return Volume(name, "configMap", str(cm.get("name", "")), items)
    if "persistentVolumeClaim" in item:
        return Volume(
            name, "persistentVolumeClaim", str(item["persistentVolumeClaim"]["claimName"])
        )
    if "emptyDir" in item:
        return Volume(name, "emptyDir", "")
    raise ManifestError(
        f"{where}.volumes[{name}]: only configMap, persistentVolumeClaim and emptyDir run locally"
    )


def _container(pod: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    containers = [c for c in pod.get("containers") or () if c.get("name") == name]
    if not containers:
        raise ManifestError(f"{where}: no container named {name!r}")
    return containers[0]  # type: ignore[no-any-return]


def _replica(rtype: str, spec: dict[str, Any], where: str) -> ReplicaSpec:
    pod = _need(spec.get("template", {}).get("spec"), dict, f"{where}.template.spec")
    container = _container(pod, contract.CONTAINER_NAME, where)
    command = tuple(str(part) for part in container.get("command") or ())
    args = tuple(str(part) for part in container.get("args") or ())
    if not command and not args:
        raise ManifestError(f"{where}: the pytorch container has no command to run locally")
    mounts = tuple(
        Mount(str(m["name"]), str(m["mountPath"]).rstrip("/") or "/", str(m.get("subPath", "")))
        for m in container.get("volumeMounts") or ()
    )
    return ReplicaSpec(
        type=rtype,  # type: ignore[arg-type]
        replicas=int(spec.get("replicas", 1)),
        restart_policy=_choice(  # type: ignore[arg-type]
            str(spec.get("restartPolicy", "OnFailure")), RESTART_POLICIES, f"{where}.restartPolicy"
        ),
        command=command,
        args=args,
        env=_env(container.get("env") or [], where),
        mounts=mounts,
        volumes=tuple(_volume(v, where) for v in pod.get("volumes") or ()),
    )


def _arrival(meta: dict[str, Any], where: str) -> float:
    raw = (meta.get("annotations") or {}).get(contract.ANNOTATION_ARRIVAL, "0")
    try:
        value = float(raw)
    except ValueError:
        raise ManifestError(f"{where}: annotation {contract.ANNOTATION_ARRIVAL}={raw!r}") from None
    if value < 0:
        raise ManifestError(f"{where}: arrival offset {value} is negative")
    return value


def parse_job(doc: dict[str, Any], file: Path) -> JobSpec:
    """One PyTorchJob document as a JobSpec."""
    meta = doc.get("metadata") or {}
    name = _need(meta.get("name"), str, f"{file}: metadata.name")
    where = f"{file}: PyTorchJob {name}"
    spec = _need(doc.get("spec"), dict, f"{where}: spec")
    replicas = _need(spec.get("pytorchReplicaSpecs"), dict, f"{where}: spec.pytorchReplicaSpecs")
    for key in replicas:
        _choice(key, REPLICA_TYPES, f"{where}: spec.pytorchReplicaSpecs")
    if "Master" not in replicas:
        raise ManifestError(f"{where}: has no Master replica; fltkc runs Master/Worker jobs only")
    # runPolicy.suspend is how a cluster holds a job until its arrival; here the arrival
    # annotation drives the start, so a suspended job runs when it is due.
    run_policy = spec.get("runPolicy") or {}
    labels = meta.get("labels") or {}
    return JobSpec(
        name=name,
        experiment=str(labels.get(contract.LABEL_EXPERIMENT, "")),
        task=str(labels.get(contract.LABEL_TASK, name)),
        arrival=_arrival(meta, where),
        backoff_limit=int(run_policy.get("backoffLimit", DEFAULT_BACKOFF_LIMIT)),
        clean_pod_policy=_choice(  # type: ignore[arg-type]
            str(run_policy.get("cleanPodPolicy", "None")), CLEAN_POD_POLICIES, f"{where}: cleanPod"
        ),
        nproc_per_node=str(spec.get("nprocPerNode", "auto")),
        replica_specs=tuple(
            _replica(key, replicas[key], f"{where}: {key}")
            for key in REPLICA_TYPES
            if key in replicas
        ),
        file=file,
        priority=_priority(meta, where),
    )


RUNTIME_KINDS = ("TrainingRuntime", "ClusterTrainingRuntime")


def _trainjob_replica(rjob: ReplicatedJob, first_global_index: int, where: str) -> ReplicaSpec:
    pod = rjob.pod["spec"]
    names = [c.get("name") for c in pod.get("containers") or ()]
    name = contract.TRAINJOB_NODE if contract.TRAINJOB_NODE in names else (names or [""])[0]
    container = _container(pod, str(name), f"{where}: replicated job {rjob.name}")
    command = tuple(str(part) for part in container.get("command") or ())
    args = tuple(str(part) for part in container.get("args") or ())
    if not command and not args:
        raise ManifestError(f"{where}: container {name} of {rjob.name} has no command")
    return ReplicaSpec(
        type="Master" if rjob.trainer else "Worker",
        replicas=rjob.jobs * rjob.pods,
        restart_policy="Never",  # podFailurePolicy needs it: the Job, not the kubelet, retries
        command=command,
        args=args,
        env=_env(container.get("env") or [], where),
        mounts=tuple(
            Mount(str(m["name"]), str(m["mountPath"]).rstrip("/") or "/", str(m.get("subPath", "")))
            for m in container.get("volumeMounts") or ()
        ),
        volumes=tuple(_volume(v, where) for v in pod.get("volumes") or ()),
        replicated_job=rjob.name,
        trainer=rjob.trainer,
        pods_per_job=rjob.pods,
        first_global_index=first_global_index,
        job_backoff_limit=int(rjob.job_spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT)),
        fail_job_exit_codes=fail_job_exit_codes(rjob.job_spec),
    )


def parse_trainjob(
    doc: dict[str, Any], runtimes: Mapping[tuple[str, str], dict[str, Any]], file: Path
) -> JobSpec:
    """One TrainJob on its runtime from the same directory, merged as the Trainer does."""
    meta = doc.get("metadata") or {}
    name = _need(meta.get("name"), str, f"{file}: metadata.name")
    where = f"{file}: TrainJob {name}"
    ref = _need((doc.get("spec") or {}).get("runtimeRef"), dict, f"{where}: spec.runtimeRef")
    key = (str(ref.get("kind", "ClusterTrainingRuntime")), str(ref.get("name", "")))
    if key not in runtimes:
        raise ManifestError(
            f"{where}: its runtime {key[0]} {key[1]} is not in the output directory; a "
            "runtime named by spec.trainjob.runtimeRef runs only on a cluster (copy its YAML "
            "into the directory to run it here)"
        )
    try:
        rjobs = replicated_jobs(doc, runtimes[key])
    except TrainJobError as err:
        raise ManifestError(f"{file}: {err}") from None
    offsets = {}
    total = 0
    for rjob in rjobs:  # JobSet numbers Jobs across replicated jobs in the runtime's order
        offsets[rjob.name], total = total, total + rjob.jobs
    rjobs.sort(key=lambda r: not r.trainer)  # the trainer job first, as Master
    labels = meta.get("labels") or {}
    return JobSpec(
        name=name,
        experiment=str(labels.get(contract.LABEL_EXPERIMENT, "")),
        task=str(labels.get(contract.LABEL_TASK, name)),
        arrival=_arrival(meta, where),
        backoff_limit=max(r.job_spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT) for r in rjobs),
        clean_pod_policy="Running",
        nproc_per_node=num_proc_per_node(doc),
        replica_specs=tuple(_trainjob_replica(r, offsets[r.name], where) for r in rjobs),
        file=file,
        kind="TrainJob",
        priority=_priority(meta, where),
    )


def _priority(meta: dict[str, Any], where: str) -> int:
    raw = (meta.get("annotations") or {}).get(contract.ANNOTATION_PRIORITY, "0")
    try:
        return int(raw)
    except ValueError:
        raise ManifestError(f"{where}: annotation {contract.ANNOTATION_PRIORITY}={raw!r}") from None


def read_out_dir(path: Path) -> OutDir:
    """Every PyTorchJob (or TrainJob) and ConfigMap under `path`, jobs in arrival order."""
    if not path.is_dir():
        raise ManifestError(
            f"{path}: not a directory; give an experiment YAML or fltkc build's output"
        )
    jobs: dict[str, JobSpec] = {}
    config_maps: dict[str, dict[str, str]] = {}
    trainjobs: list[tuple[dict[str, Any], Path]] = []
    runtimes: dict[tuple[str, str], dict[str, Any]] = {}
    for file in sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")):
        for doc in _documents(file):
            kind = doc.get("kind")
            name = str((doc.get("metadata") or {}).get("name", ""))
            if kind in ("PyTorchJob", "TrainJob"):
                if name in jobs or any(d["metadata"]["name"] == name for d, _ in trainjobs):
                    raise ManifestError(f"{file}: {kind} {name} is defined twice")
                if kind == "TrainJob":
                    trainjobs.append((doc, file))
                else:
                    jobs[name] = parse_job(doc, file)
            elif kind in RUNTIME_KINDS:
                runtimes[(str(kind), name)] = doc
            elif kind == "ConfigMap":
                config_maps[name] = {str(k): str(v) for k, v in (doc.get("data") or {}).items()}
    for doc, file in trainjobs:
        job = parse_trainjob(doc, runtimes, file)
        jobs[job.name] = job
    if not jobs:
        raise ManifestError(
            f"{path}: no PyTorchJob or TrainJob manifests found; run fltkc build first"
        )
    ordered = tuple(sorted(jobs.values(), key=lambda job: (job.arrival, job.name)))
    experiments = sorted({job.experiment for job in ordered if job.experiment})
    return OutDir(path, experiments[0] if experiments else path.name, ordered, config_maps)
