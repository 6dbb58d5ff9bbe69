"""Turn a PyTorchJob into local processes: operator env, local volumes, rewritten paths."""

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


def expand_refs(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion: defined names replaced, `$$` escapes, others kept."""

    def sub(match: re.Match[str]) -> str:
        if match.group(1) == "$":
            return "$"
        return env.get(match.group(2), match.group(0))

    return _VAR_REF.sub(sub, value)


def _field(path: str, pod: str, where: str) -> str:
    fields = {"metadata.name": pod, "metadata.namespace": "default", "status.podIP": LOOPBACK}
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
    pod = f"{job.name}-{spec.type.lower()}-{index}"
    mounts = mount_map(spec, job, pod, at)
    # $(VAR) sees only the container's own env, as in a pod; the host env is the base.
    declared: dict[str, str] = {}
    for var in spec.env:
        raw = (
            _field(var.field_path, pod, f"{job.file}: {job.name}") if var.field_path else var.value
        )
        declared[var.name] = rewrite_path(expand_refs(raw, declared), mounts)
    injected = operator_env(job, spec.type, index, port)
    declared.update(injected)
    env = {"OMP_NUM_THREADS": str(at.threads), **os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(_CODE_ROOT), env.get("PYTHONPATH"))))
    env.update(declared)
    return ProcessSpec(
        job=job.name,
        replica=f"{spec.type.lower()}-{index}",
        rank=int(injected[contract.ENV_RANK]),
        restart_policy=spec.restart_policy,
        argv=_argv(spec, declared, mounts),
        env=env,
        log=at.run_dir / "logs" / job.name / f"{spec.type.lower()}-{index}.log",
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
