"""Read the PyTorchJobs and ConfigMaps that `fltkc build` wrote into an output directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from fltkc import contract
from fltkc.errors import FltkcError

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


@dataclass(frozen=True)
class JobSpec:
    name: str
    experiment: str
    task: str
    arrival: float  # seconds from the start of the experiment
    backoff_limit: int
    clean_pod_policy: CleanPodPolicy
    nproc_per_node: str
    replica_specs: tuple[ReplicaSpec, ...]  # Master first
    file: Path
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


def _replica(rtype: str, spec: dict[str, Any], where: str) -> ReplicaSpec:
    pod = _need(spec.get("template", {}).get("spec"), dict, f"{where}.template.spec")
    containers = [
        c for c in pod.get("containers") or () if c.get("name") == contract.CONTAINER_NAME
    ]
    if not containers:
        raise ManifestError(f"{where}: no container named {contract.CONTAINER_NAME!r}")
    container = containers[0]
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


def _priority(meta: dict[str, Any], where: str) -> int:
    raw = (meta.get("annotations") or {}).get(contract.ANNOTATION_PRIORITY, "0")
    try:
        return int(raw)
    except ValueError:
        raise ManifestError(f"{where}: annotation {contract.ANNOTATION_PRIORITY}={raw!r}") from None


def read_out_dir(path: Path) -> OutDir:
    """Every PyTorchJob and ConfigMap under `path`, jobs in arrival order."""
    if not path.is_dir():
        raise ManifestError(
            f"{path}: not a directory; give an experiment YAML or fltkc build's output"
        )
    jobs: dict[str, JobSpec] = {}
    config_maps: dict[str, dict[str, str]] = {}
    for file in sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")):
        for doc in _documents(file):
            kind = doc.get("kind")
            if kind == "PyTorchJob":
                job = parse_job(doc, file)
                if job.name in jobs:
                    raise ManifestError(f"{file}: PyTorchJob {job.name} is defined twice")
                jobs[job.name] = job
            elif kind == "ConfigMap":
                name = str((doc.get("metadata") or {}).get("name", ""))
                config_maps[name] = {str(k): str(v) for k, v in (doc.get("data") or {}).items()}
    if not jobs:
        raise ManifestError(f"{path}: no PyTorchJob manifests found; run fltkc build first")
    ordered = tuple(sorted(jobs.values(), key=lambda job: (job.arrival, job.name)))
    experiments = sorted({job.experiment for job in ordered if job.experiment})
    return OutDir(path, experiments[0] if experiments else path.name, ordered, config_maps)
