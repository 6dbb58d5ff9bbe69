"""Deploy a built out/ directory to the test control plane, as a cluster admin would."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cluster_support import Kube, Obj, documents, wait_for

from fltkc.cluster.build import binary
from fltkc.cluster.manifests import host_path_volumes

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
CLUSTER_SCOPED = {
    "ClusterQueue",
    "ResourceFlavor",
    "PersistentVolume",
    "PriorityClass",
    "Namespace",
    "ClusterTrainingRuntime",
}
# The label each controller puts on the pods of one job, by the kind of the job.
POD_JOB_LABEL = {
    "PyTorchJob": "training.kubeflow.org/job-name",
    "TrainJob": "jobset.sigs.k8s.io/jobset-name",  # the TrainJob's JobSet has its name
}


@dataclass(frozen=True)
class Deployed:
    out: Path
    namespace: str
    objects: list[Obj]  # what `kubectl kustomize out/` renders
    output: str  # the last kubectl apply's stdout and stderr
    refused: tuple[str, ...] = ()  # errors of earlier attempts (see deploy)

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def jobs(self) -> list[Obj]:
        return [o for o in self.objects if o["kind"] in POD_JOB_LABEL]


def render(out: Path) -> list[Obj]:
    done = subprocess.run(["kubectl", "kustomize", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return documents(done.stdout)


def kustomize_namespace(out: Path) -> str | None:
    return yaml.safe_load((out / "kustomization.yaml").read_text()).get("namespace")


def pod_specs(obj: Obj) -> Iterator[dict[str, Any]]:
    """The pod specs inside a workload object (PyTorchJob replicas, Job, Deployment, and a
    TrainingRuntime's or a TrainJob's runtimePatches' replicated jobs)."""
    spec = obj.get("spec") or {}
    for replica in (spec.get("pytorchReplicaSpecs") or {}).values():
        yield replica["template"]["spec"]
    runtimes = [spec] + [p.get("trainingRuntimeSpec", {}) for p in spec.get("runtimePatches", [])]
    for runtime in runtimes:
        for rjob in ((runtime.get("template") or {}).get("spec") or {}).get("replicatedJobs", []):
            yield (((rjob.get("template") or {}).get("spec") or {}).get("template") or {}).get(
                "spec"
            ) or {}
    if "template" in spec and "spec" in spec["template"]:
        yield spec["template"]["spec"]


def prerequisites(objects: list[Obj], namespace: str, volumes: Path) -> list[Obj]:
    """What the admin provides: claims named but not emitted, volumes, priority classes."""
    claims = {o["metadata"]["name"]: o for o in objects if o["kind"] == "PersistentVolumeClaim"}
    out: list[Obj] = []
    for obj in objects:
        for spec in pod_specs(obj):
            for volume in spec.get("volumes", []):
                name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
                if name and name not in claims:
                    claims[name] = {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {"name": name, "namespace": namespace},
                        "spec": {
                            "accessModes": ["ReadWriteMany"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                    out.append(claims[name])
            if spec.get("priorityClassName"):
                out.append(
                    {
                        "apiVersion": "scheduling.k8s.io/v1",
                        "kind": "PriorityClass",
                        "metadata": {"name": spec["priorityClassName"]},
                        "value": 1000,
                    }
                )
    for claim in claims.values():
        claim["metadata"].setdefault("namespace", namespace)
    return host_path_volumes(list(claims.values()), volumes, "fltkc-test") + out


def deploy(kube: Kube, out: Path, namespace: str, volumes: Path) -> Deployed:
    """Namespace (restricted), prerequisites, then `kubectl apply --server-side -k out/`."""
    fixed = kustomize_namespace(out)
    namespace = fixed or namespace
    kube.namespace(namespace)
    objects = render(out)
    kube.apply(prerequisites(objects, namespace, volumes))
    args = ["apply", "--server-side", "-k", str(out)] + ([] if fixed else ["-n", namespace])
    refused: list[str] = []
    # Up to three tries, as a GitOps controller retries: a webhook may look an object of the
    # same apply up in a cache that has not seen it yet (Kueue's TrainJob webhook and the
    # TrainingRuntime it names). Callers can assert on `refused`.
    for _ in range(3):
        done = kube.run(*args, check=False)
        if done.returncode == 0:
            return Deployed(out, namespace, objects, done.stdout + done.stderr, tuple(refused))
        refused.append(done.stderr)
        time.sleep(1)
    raise AssertionError(f"kubectl {' '.join(args)} failed 3 times:\n" + "\n".join(refused))


def runs_at_once(job: Obj) -> bool:
    """Whether the controller should create this job's pods right away (not suspended, queued)."""
    if QUEUE_LABEL in job["metadata"].get("labels", {}):
        return False
    spec = job["spec"]
    return not (spec.get("runPolicy", {}).get("suspend") or spec.get("suspend"))


def expected_pods(job: Obj) -> int:
    if job["kind"] == "PyTorchJob":
        return sum(r["replicas"] for r in job["spec"]["pytorchReplicaSpecs"].values())
    return int(job["spec"].get("trainer", {}).get("numNodes", 1))  # TrainJob


def job_pods(kube: Kube, namespace: str, job: Obj) -> list[Obj]:
    label = POD_JOB_LABEL[job["kind"]]
    return kube.items("pods", namespace, f"{label}={job['metadata']['name']}")


@dataclass(frozen=True)
class Started:
    """A job's pods and Services as the controllers first created them."""

    pods: list[Obj]
    services: list[Obj]


def expected_services(job: Obj) -> int:
    # The training operator makes one headless Service per pod; JobSet one per JobSet.
    return expected_pods(job) if job["kind"] == "PyTorchJob" else 1


def owned_services(kube: Kube, namespace: str, name: str) -> list[Obj]:
    """Services whose owner is named `name` (the PyTorchJob, or the TrainJob's JobSet)."""
    return [
        s
        for s in kube.items("services", namespace)
        if any(o["name"] == name for o in s["metadata"].get("ownerReferences", []))
    ]


def apply_and_wait_pods(
    kube: Kube, out: Path, namespace: str, volumes: Path, timeout: float = 60
) -> tuple[Deployed, dict[str, Started]]:
    """Deploy `out` and wait until every job that runs at once has its pods and Services.

    Any backend (PyTorchJob, TrainJob). Each job is captured as soon as it is complete: a job
    that finishes has its Services removed by the operator.
    """
    deployed = deploy(kube, out, namespace, volumes)
    started: dict[str, Started] = {}
    for job in deployed.jobs():
        if runs_at_once(job):
            name = job["metadata"]["name"]

            def complete(job: Obj = job, name: str = name) -> Started | None:
                pods = job_pods(kube, deployed.namespace, job)
                if len(pods) < expected_pods(job):
                    return None
                services = owned_services(kube, deployed.namespace, name)
                return Started(pods, services) if len(services) >= expected_services(job) else None

            started[name] = wait_for(
                complete, f"pods and Services of {job['kind']} {name}", timeout
            )
    return deployed, started


def flux_apply(kube: Kube, objects: list[Obj], namespace: str) -> dict[str, str]:
    """Apply as Flux's kustomize-controller does (its own engine, see fltkc/cluster/fluxapply).

    Returns the action per object, e.g. {"PyTorchJob/ns/name": "skipped"}.
    """
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"].setdefault("namespace", namespace)
    done = subprocess.run(
        [str(binary("flux-apply"))],
        input=yaml.safe_dump_all(objects),
        capture_output=True,
        text=True,
        env={"KUBECONFIG": str(kube.kubeconfig), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return dict(line.rsplit(" ", 1) for line in done.stdout.splitlines() if line.strip())
