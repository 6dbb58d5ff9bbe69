"""Turn a PyTorchJob or TrainJob into local processes: operator env, local volumes, paths."""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fltkc import contract
from fltkc.local.outdir import (
    JobSpec,
    ManifestError,
    ReplicaSpec,
    ReplicaType,
    RestartPolicy,
    Volume,
)

LOOPBACK = "127.0.0.1"
_PYTHONS = ("python", "python3")
_VAR_REF = re.compile(r"\$(\$|\(([A-Za-z_][A-Za-z0-9_.-]*)\))")
# The checkout (or site-packages) holding fltkc also holds the trainer, as in the image.
_CODE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ProcessSpec:
    job: str
    replica: str  # "<type>-<index>", e.g. "master-0", "worker-1"
    rank: int
    restart_policy: RestartPolicy
    argv: tuple[str, ...]
    env: Mapping[str, str]
    log: Path
    # A TrainJob's pod: the Job whose backoffLimit (budget_limit) its failures count against,
    # and the exit codes its podFailurePolicy fails the job on (None: a PyTorchJob replica).
    budget: str = ""
    budget_limit: int = 0
    fail_codes: tuple[int, ...] | None = None


@dataclass(frozen=True)
class LocalJob:
    spec: JobSpec
    port: int
    processes: tuple[ProcessSpec, ...]  # master first
    log_dir: Path | None  # the master's $FLTK_LOG_DIR on this machine


@dataclass(frozen=True)
class Placement:
    run_dir: Path
    config_maps: Mapping[str, Mapping[str, str]]
    data_dir: Path | None = None
    # Threads per replica when neither the manifest nor the caller's env says: the CPUs
    # shared out over the slots, as torchrun sets OMP_NUM_THREADS=1 for co-located workers.
    threads: int = 1


def free_port() -> int:
    """A TCP port nothing listens on now, as the job's Service would own one on a cluster."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def operator_env(job: JobSpec, rtype: ReplicaType, index: int, port: int) -> dict[str, str]:
    """What the training operator injects into a replica of a job with a Master."""
    rank = index if rtype == "Master" else index + 1
    nproc = int(job.nproc_per_node) if job.nproc_per_node.isdigit() else 1
    return {
        "PYTHONUNBUFFERED": "1",
        contract.ENV_MASTER_PORT: str(port),
        "PET_MASTER_PORT": str(port),
        contract.ENV_MASTER_ADDR: LOOPBACK,
        "PET_MASTER_ADDR": LOOPBACK,
        contract.ENV_WORLD_SIZE: str(job.total_replicas * nproc),
        contract.ENV_RANK: str(rank),
        "PET_NODE_RANK": str(rank),
        "PET_NNODES": str(job.total_replicas),
        "PET_NPROC_PER_NODE": job.nproc_per_node,
    }


def torch_runtime_env(job: JobSpec, spec: ReplicaSpec, index: int, port: int) -> dict[str, str]:
    """What Trainer v2.3.0's Torch plugin injects into the trainer job's `node` container.

    PET_* only; PET_MASTER_ADDR (<job>-node-0-0.<job> on a cluster) is this machine and
    PET_MASTER_PORT (29500 there) the job's free port. Other replicated jobs get nothing.
    """
    if not spec.trainer:
        return {}
    return {
        contract.ENV_PET_NNODES: str(spec.pods_per_job),
        contract.ENV_PET_NPROC_PER_NODE: job.nproc_per_node,
        contract.ENV_PET_NODE_RANK: str(index % spec.pods_per_job),
        contract.ENV_PET_MASTER_ADDR: LOOPBACK,
        contract.ENV_PET_MASTER_PORT: str(port),
    }


def _pod_fields(job: JobSpec, spec: ReplicaSpec, index: int, pod: str) -> dict[str, str]:
    """The downward-API fields a replica's env may name (JobSet's labels for a TrainJob)."""
    fields = {"metadata.name": pod, "metadata.namespace": "default", "status.podIP": LOOPBACK}
    if job.kind == "TrainJob":
        job_index, pod_index = divmod(index, spec.pods_per_job)
        fields.update(
            {
                f"metadata.labels['{contract.LABEL_JOB_GLOBAL_INDEX}']": str(
                    spec.first_global_index + job_index
                ),
                f"metadata.labels['{contract.LABEL_JOBSET_NAME}']": job.name,
                "metadata.annotations['batch.kubernetes.io/job-completion-index']": str(pod_index),
            }
        )
    return fields


def _local_value(job: JobSpec, name: str, value: str, port: int) -> str:
    """A TrainJob's master endpoint and Torch port as they are on this machine."""
    if job.kind != "TrainJob":
        return value
    if value == f"{job.name}-{contract.TRAINJOB_NODE}-0-0.{job.name}":
        return LOOPBACK
    ports = (contract.ENV_MASTER_PORT, contract.ENV_PET_MASTER_PORT)
    if name in ports and value == str(contract.TORCH_RUNTIME_PORT):
        return str(port)
    return value


def expand_refs(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: defined names replaced, `$$` escapes, others kept."""

    def sub(match: re.Match[str]) -> str:
        if match.group(1) == "$":
            return "$"
        return env.get(match.group(2), match.group(0))

    return _VAR_REF.sub(sub, value)


def _field(path: str, fields: Mapping[str, str], where: str) -> str:
    if path not in fields:
        raise ManifestError(f"{where}: fieldRef {path!r} is not one of {', '.join(fields)}")
    return fields[path]


def _data_mount(spec: ReplicaSpec) -> str:
    declared = {e.name: e.value for e in spec.env}.get(contract.ENV_DATA_DIR, "")
    return declared or contract.DEFAULT_DATA_MOUNT


def _materialise(volume: Volume, data: Mapping[str, str], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    files = volume.items or tuple((key, key) for key in sorted(data))
    for key, rel in files:
        if key not in data:
            raise ManifestError(f"ConfigMap {volume.source} has no key {key!r}")
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data[key], encoding="utf-8")


def _volume_dir(volume: Volume, spec: ReplicaSpec, job: JobSpec, pod: str, at: Placement) -> Path:
    if volume.kind == "configMap":
        if volume.source not in at.config_maps:
            raise ManifestError(
                f"{job.file}: {job.name} mounts ConfigMap {volume.source!r}, which is not in "
                "the output directory; rebuild it with fltkc build"
            )
        target = at.run_dir / "config" / job.name / volume.name
        _materialise(volume, at.config_maps[volume.source], target)
        return target
    if volume.kind == "emptyDir":
        return at.run_dir / "volumes" / "emptyDir" / pod / volume.name
    mount = next((m for m in spec.mounts if m.volume == volume.name), None)
    data_mount = _data_mount(spec)
    is_data = mount is not None and (
        data_mount == mount.mount_path or data_mount.startswith(mount.mount_path + "/")
    )
    if is_data and at.data_dir is not None:
        return at.data_dir
    return at.run_dir / "volumes" / volume.source


def mount_map(spec: ReplicaSpec, job: JobSpec, pod: str, at: Placement) -> dict[str, Path]:
    """mountPath -> the local directory standing in for it, creating the directories."""
    volumes = {v.name: _volume_dir(v, spec, job, pod, at) for v in spec.volumes}
    mounts = {}
    for mount in spec.mounts:
        if mount.volume not in volumes:
            raise ManifestError(f"{job.file}: {job.name} mounts undeclared volume {mount.volume!r}")
        local = volumes[mount.volume] / mount.sub_path if mount.sub_path else volumes[mount.volume]
        local.mkdir(parents=True, exist_ok=True)
        mounts[mount.mount_path] = local.resolve()
    return mounts


def rewrite_path(value: str, mounts: Mapping[str, Path]) -> str:
    """A value under a mountPath, moved to the local directory that stands in for it."""
    for mount_path in sorted(mounts, key=len, reverse=True):
        if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
            return str(mounts[mount_path]) + value[len(mount_path) :]
    return value


def _argv(spec: ReplicaSpec, env: Mapping[str, str], mounts: Mapping[str, Path]) -> tuple[str, ...]:
    argv = [rewrite_path(expand_refs(part, env), mounts) for part in spec.command + spec.args]
    if argv and argv[0] in _PYTHONS:
        argv[0] = sys.executable
    return tuple(argv)


def replica_process(
    job: JobSpec, spec: ReplicaSpec, index: int, port: int, at: Placement
) -> ProcessSpec:
    """One replica as a local process: base env, the manifest's env, then the operator's."""
    replica = spec.replica_name(index)
    pod = f"{job.name}-{replica}"
    mounts = mount_map(spec, job, pod, at)
    fields = _pod_fields(job, spec, index, pod)
    # $(VAR) sees only the container's own env, as in a pod; the host env is the base.
    declared: dict[str, str] = {}
    for var in spec.env:
        where = f"{job.file}: {job.name}"
        raw = _field(var.field_path, fields, where) if var.field_path else var.value
        raw = _local_value(job, var.name, raw, port)
        declared[var.name] = rewrite_path(expand_refs(raw, declared), mounts)
    if job.kind == "TrainJob":
        injected = torch_runtime_env(job, spec, index, port)
    else:
        injected = operator_env(job, spec.type, index, port)
    declared.update(injected)
    rank = declared.get(contract.ENV_RANK, declared.get(contract.ENV_PET_NODE_RANK, "0"))
    env = {"OMP_NUM_THREADS": str(at.threads), **os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(_CODE_ROOT), env.get("PYTHONPATH"))))
    env.update(declared)
    return ProcessSpec(
        job=job.name,
        replica=replica,
        rank=int(rank) if rank.isdigit() else 0,
        restart_policy=spec.restart_policy,
        argv=_argv(spec, declared, mounts),
        env=env,
        log=at.run_dir / "logs" / job.name / f"{replica}.log",
        budget=f"{spec.replicated_job}-{index // spec.pods_per_job}"
        if job.kind == "TrainJob"
        else "",
        budget_limit=spec.job_backoff_limit,
        fail_codes=spec.fail_job_exit_codes if job.kind == "TrainJob" else None,
    )


def localize(job: JobSpec, at: Placement, port: int | None = None) -> LocalJob:
    """Every replica of a job, master first, sharing one MASTER_PORT (a free one by default)."""
    port = free_port() if port is None else port
    processes = tuple(
        replica_process(job, spec, index, port, at)
        for spec in job.replica_specs
        for index in range(spec.replicas)
    )
    log_dir = processes[0].env.get(contract.ENV_LOG_DIR)
    return LocalJob(job, port, processes, Path(log_dir) if log_dir else None)
