"""The typed experiment, built from a document the schema and semantic checks accepted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fltkc import contract
from fltkc.compile.client_traces import ClientTrace
from fltkc.compile.load import Source
from fltkc.compile.quantity import canonicalize
from fltkc.compile.streams import PriorityClass, Stream, read_priority_classes, read_streams

PodSecurity = Literal["restricted", "baseline"]
Backend = Literal["pytorchjob", "trainjob"]
BACKENDS: tuple[Backend, ...] = ("pytorchjob", "trainjob")
DEFAULT_PROFILE = "default"
DEFAULT_TOLERATIONS = ({"effect": "NoSchedule", "key": "fltk.node", "operator": "Exists"},)
# Used when a task names no profile and the experiment defines none called "default":
# Kueue needs requests on every container, and a memory limit keeps one job from starving a node.
BUILTIN_DEFAULT_PROFILE: dict[str, Any] = {
    "requests": {"cpu": "1", "memory": "2Gi"},
    "limits": {"memory": "2Gi"},
}
_RESOURCE_NAMES = {"cpu": "cpu", "memory": "memory", "ephemeralStorage": "ephemeral-storage"}


@dataclass(frozen=True)
class Volume:
    """A PVC the jobs mount: created (size set) or existing (existing_claim set)."""

    role: Literal["logs", "data"]
    claim_name: str
    create: bool
    size: str | None
    storage_class: str | None
    access_modes: tuple[str, ...]
    mount_path: str


@dataclass(frozen=True)
class Hardware:
    """Resolved pod placement and resources of one replica type."""

    profile: str
    requests: Mapping[str, str]
    limits: Mapping[str, str]
    node_selector: Mapping[str, str]
    tolerations: tuple[Mapping[str, Any], ...]
    priority_class: str | None


@dataclass(frozen=True)
class TensorBoard:
    """The optional TensorBoard workload (spec.tensorboard)."""

    image: str
    port: int


@dataclass(frozen=True)
class ArgoCD:
    """The optional Argo CD Application (spec.argocd), written outside the kustomization."""

    repo_url: str
    path: str
    target_revision: str
    project: str
    application_namespace: str
    server: str
    namespace: str | None
    automated: bool


@dataclass(frozen=True)
class RuntimeRef:
    """An existing (Cluster)TrainingRuntime every TrainJob names (spec.trainjob.runtimeRef)."""

    name: str
    kind: Literal["ClusterTrainingRuntime", "TrainingRuntime"]


@dataclass(frozen=True)
class Task:
    """One task: trainer fields (trainer-config names) plus replicas, arrivals and sweep."""

    index: int
    name: str
    training: Mapping[str, Any]
    master: Hardware
    workers: int
    worker: Hardware
    restart_policy: str
    backoff_limit: int
    arrivals: Mapping[str, Any]
    trace: tuple[float, ...]
    client_traces: Mapping[str, ClientTrace]  # by file name as the task writes it
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    repetitions: int
    seed_per_point: bool  # False: the points of one repetition share its seed


@dataclass(frozen=True)
class Experiment:
    """The whole accepted experiment; `source` lets later stages position their diagnostics."""

    name: str
    namespace: str | None
    labels: Mapping[str, str]
    seed: int
    image: str
    pull_policy: str
    pod_security: PodSecurity
    run_as_user: int
    fs_group: int
    queue_name: str | None
    emit_queues: bool
    data_prep: bool
    tensorboard: TensorBoard | None
    argocd: ArgoCD | None
    release: Literal["suspend", "immediate"]
    logs: Volume
    data: Volume
    tasks: tuple[Task, ...]
    source: Source
    backend: Backend = "pytorchjob"
    runtime_ref: RuntimeRef | None = None
    # Workload mixtures (fltkc.compile.streams): arrival streams drawing task and priority.
    streams: tuple[Stream, ...] = ()
    priority_classes: tuple[PriorityClass, ...] = ()


TRAINING_KEYS = (
    "mode",
    "device",
    "dataset",
    "model",
    "batchSize",
    "testBatchSize",
    "optimizer",
    "scheduler",
    "loss",
    "distributed",
    "federated",
    "evaluation",
    "checkpoint",
    "rendezvous",
)


def build_experiment(
    source: Source,
    traces: Mapping[int, tuple[float, ...]],
    client_traces: Mapping[tuple[int, str], ClientTrace] | None = None,
) -> Experiment:
    """Typed view of a valid document; `traces` holds trace offsets by task index and
    `client_traces` the client trace files by (task index, file)."""
    by_task: dict[int, dict[str, ClientTrace]] = {}
    for (index, file), trace in (client_traces or {}).items():
        by_task.setdefault(index, {})[file] = trace
    doc = source.document
    meta, spec = doc["metadata"], doc["spec"]
    security = spec.get("security", {})
    storage = spec.get("storage", {})
    name = meta["name"]
    profiles = spec.get("profiles", {})
    tasks = tuple(
        _task(i, task, profiles, traces.get(i, ()), by_task.get(i, {}))
        for i, task in enumerate(spec["tasks"])
    )
    return Experiment(
        name=name,
        namespace=meta.get("namespace"),
        labels=dict(sorted(meta.get("labels", {}).items())),
        seed=spec.get("seed", 0),
        image=spec.get("image", contract.DEFAULT_IMAGE),
        pull_policy=spec.get("imagePullPolicy", "IfNotPresent"),
        pod_security=security.get("podSecurity", "restricted"),
        run_as_user=security.get("runAsUser", 1000),
        fs_group=security.get("fsGroup", 1000),
        queue_name=spec.get("kueue", {}).get("queueName"),
        emit_queues=spec.get("kueue", {}).get("emitQueues", False),
        data_prep=spec.get("dataPrep", {}).get("enabled", True),
        tensorboard=_tensorboard(spec, spec.get("image", contract.DEFAULT_IMAGE)),
        argocd=_argocd(spec.get("argocd", {}), meta.get("namespace")),
        release=spec.get("release", "suspend"),
        logs=_volume("logs", name, storage.get("logs", {}), contract.DEFAULT_LOGS_MOUNT),
        data=_volume("data", name, storage.get("data", {}), contract.DEFAULT_DATA_MOUNT),
        tasks=tasks,
        source=source,
        backend=spec.get("backend", "pytorchjob"),
        runtime_ref=_runtime_ref(spec.get("trainjob", {}).get("runtimeRef")),
        streams=read_streams(spec),
        priority_classes=read_priority_classes(spec),
    )


def _runtime_ref(block: Mapping[str, Any] | None) -> RuntimeRef | None:
    if block is None:
        return None
    return RuntimeRef(name=block["name"], kind=block.get("kind", "ClusterTrainingRuntime"))


def _tensorboard(spec: Mapping[str, Any], image: str) -> TensorBoard | None:
    block = spec.get("tensorboard", {})
    if not block.get("enabled", False):
        return None
    return TensorBoard(image=block.get("image", image), port=block.get("port", 6006))


def _argocd(block: Mapping[str, Any], namespace: str | None) -> ArgoCD | None:
    if not block.get("enabled", False):
        return None
    destination = block.get("destination", {})
    return ArgoCD(
        repo_url=block["repoURL"],
        path=block["path"],
        target_revision=block.get("targetRevision", "HEAD"),
        project=block.get("project", "default"),
        application_namespace=block.get("applicationNamespace", "argocd"),
        server=destination.get("server", "https://kubernetes.default.svc"),
        namespace=destination.get("namespace", namespace),
        automated=block.get("automated", True),
    )


def _volume(
    role: Literal["logs", "data"], experiment: str, spec: Mapping[str, Any], mount: str
) -> Volume:
    existing = spec.get("existingClaim")
    size = spec.get("size", "1Gi" if existing is None else None)
    default_modes = ["ReadWriteMany"] if role == "logs" else ["ReadWriteOnce"]
    return Volume(
        role=role,
        claim_name=existing or f"{experiment}-{role}",
        create=existing is None,
        size=None if size is None else canonicalize(size),
        storage_class=spec.get("storageClassName"),
        access_modes=tuple(spec.get("accessModes", default_modes)),
        mount_path=spec.get("mountPath", mount),
    )


def resolve_hardware(name: str, profiles: Mapping[str, Any]) -> Hardware:
    """Canonical requests and limits (GPUs in both, as Kubernetes requires) of a profile."""
    spec = profiles.get(name, BUILTIN_DEFAULT_PROFILE if name == DEFAULT_PROFILE else None)
    if spec is None:
        raise KeyError(f"unknown profile {name!r}; defined: {', '.join(sorted(profiles))}")
    requests = {_RESOURCE_NAMES[k]: canonicalize(v) for k, v in spec.get("requests", {}).items()}
    limits = {_RESOURCE_NAMES[k]: canonicalize(v) for k, v in spec.get("limits", {}).items()}
    gpus = spec.get("gpus", {"count": 0})
    if gpus["count"] > 0:
        resource = gpus.get("resource", "nvidia.com/gpu")
        requests[resource] = limits[resource] = str(gpus["count"])
    return Hardware(
        profile=name,
        requests=dict(sorted(requests.items())),
        limits=dict(sorted(limits.items())),
        node_selector=dict(sorted(spec.get("nodeSelector", {}).items())),
        tolerations=tuple(
            toleration(t) for t in spec.get("tolerations", list(DEFAULT_TOLERATIONS))
        ),
        priority_class=spec.get("priorityClassName"),
    )


def toleration(value: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """`key[=value]:Effect` or a toleration object -> a Kubernetes toleration."""
    if not isinstance(value, str):
        operator = value.get("operator", "Equal" if "value" in value else "Exists")
        return dict(sorted({**value, "operator": operator}.items()))
    selector, effect = value.rsplit(":", 1)
    key, _, wanted = selector.partition("=")
    if wanted:
        return {"effect": effect, "key": key, "operator": "Equal", "value": wanted}
    return {"effect": effect, "key": key, "operator": "Exists"}


def _task(
    index: int,
    spec: Mapping[str, Any],
    profiles: Mapping[str, Any],
    trace: tuple[float, ...],
    client_traces: Mapping[str, ClientTrace],
) -> Task:
    replicas = spec.get("replicas", {})
    master_profile = replicas.get("master", {}).get("profile", DEFAULT_PROFILE)
    workers = replicas.get("workers", {})
    sweep = spec.get("sweep", {})
    return Task(
        index=index,
        name=spec["name"],
        training={k: spec[k] for k in TRAINING_KEYS if k in spec},
        master=resolve_hardware(master_profile, profiles),
        workers=workers.get("count", 1 if spec["mode"] == "federated" else 0),
        worker=resolve_hardware(workers.get("profile", master_profile), profiles),
        restart_policy=spec.get("restartPolicy", "ExitCode"),
        backoff_limit=spec.get("backoffLimit", 3),
        arrivals=spec.get("arrivals", {"process": "fixed", "offsetsSeconds": [0]}),
        trace=trace,
        client_traces=client_traces,
        grid=tuple((path, tuple(values)) for path, values in sweep.get("grid", {}).items()),
        repetitions=sweep.get("repetitions", 1),
        seed_per_point=sweep.get("seedPerPoint", False),
    )
