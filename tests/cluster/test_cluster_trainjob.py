"""A TrainJob smoke test: Trainer v2's webhook admits it, the controller makes a JobSet and pods.

The runtime is the stock `torch-distributed` one from ../shared/crds (a Helm template: its
`{{ }}` lines are dropped), made a namespaced TrainingRuntime with a restricted securityContext.
When the compiler gains a TrainJob backend, its out/ goes through the same apply_and_wait_pods.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cluster_deploy import Deployed, apply_and_wait_pods
from cluster_support import TRAINER_CRDS, Kube, Obj, condition, env_of, wait_for
from k8s_tools import unavailable

pytestmark = pytest.mark.slow
NAMESPACE = "trainjob"
JOB = "smoke"
NODES = 2
RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def runtime() -> Obj:
    source = TRAINER_CRDS / "runtime-torch-distributed.yaml"
    if not source.is_file():
        unavailable(f"{source} is absent: ../shared is not checked out")
    text = "\n".join(line for line in source.read_text().splitlines() if "{{" not in line)
    obj: Obj = yaml.safe_load(text)
    obj["kind"] = "TrainingRuntime"
    job = obj["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]
    for container in job["spec"]["template"]["spec"]["containers"]:
        container["securityContext"] = RESTRICTED
    return obj


def trainjob(name: str, env: list[Obj] | None = None) -> Obj:
    trainer: Obj = {
        "image": "ghcr.io/fltkc/trainer:0.1.0",
        "command": ["python", "-m", "trainer"],
        "numNodes": NODES,
        "numProcPerNode": 1,
    }
    if env:
        trainer["env"] = env
    return {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "metadata": {"name": name},
        "spec": {
            "runtimeRef": {
                "name": "torch-distributed",
                "kind": "TrainingRuntime",
                "apiGroup": "trainer.kubeflow.org",
            },
            "trainer": trainer,
        },
    }


@pytest.fixture(scope="module")
def smoke(
    cluster: Kube, volumes: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Deployed, list[Obj]]:
    out = tmp_path_factory.mktemp("trainjob")
    files = {
        "trainingruntime-torch-distributed.yaml": runtime(),
        f"trainjob-{JOB}.yaml": trainjob(JOB),
    }
    for name, obj in files.items():
        (out / name).write_text(yaml.safe_dump(obj, sort_keys=False))
    (out / "kustomization.yaml").write_text(yaml.safe_dump({"resources": sorted(files)}))
    deployed, started = apply_and_wait_pods(cluster, out, NAMESPACE, volumes)
    assert [s["metadata"]["name"] for s in started[JOB].services] == [JOB]  # headless, by JobSet
    return deployed, started[JOB].pods


def test_the_webhook_admits_it_and_the_controller_makes_a_jobset(
    cluster: Kube, smoke: tuple[Deployed, list[Obj]]
) -> None:
    deployed, _ = smoke
    assert "Warning" not in deployed.output, deployed.output
    # Found here: applied together, the TrainJob webhooks (the trainer's and Kueue's) may look
    # the runtime up before their caches have it and refuse; a retry (as GitOps does) passes.
    for refusal in deployed.refused:
        assert "denied the request" in refusal and "not found" in refusal, refusal
        assert "torch-distributed" in refusal, refusal
    jobset = cluster.json("jobset", JOB, "-n", NAMESPACE)
    owners = [o["kind"] for o in jobset["metadata"]["ownerReferences"]]
    assert owners == ["TrainJob"]
    assert [r["name"] for r in jobset["spec"]["replicatedJobs"]] == ["node"]


def test_the_webhook_denies_what_the_runtime_injects(
    cluster: Kube, smoke: tuple[Deployed, list[Obj]]
) -> None:
    bad = trainjob("bad", env=[{"name": "PET_NNODES", "value": "3"}])
    done = cluster.run(
        "apply", "--server-side", "-n", NAMESPACE, "-f", "-", stdin=yaml.safe_dump(bad), check=False
    )
    assert done.returncode != 0 and "denied the request" in done.stderr, done.stderr
    assert "PET_NNODES" in done.stderr


def test_pods_get_the_torch_env(smoke: tuple[Deployed, list[Obj]]) -> None:
    _, pods = smoke
    assert len(pods) == NODES
    ranks = set()
    for pod in pods:
        env = env_of(pod, "node")  # PET_NODE_RANK comes from the Job's completion index
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        assert env["PET_NNODES"] == str(NODES) and env["PET_NPROC_PER_NODE"] == "1"
        assert env["PET_NODE_RANK"] == index
        assert env["PET_MASTER_ADDR"] == f"{JOB}-node-0-0.{JOB}"
        assert env["PET_MASTER_PORT"] == "29500"
        assert not {"MASTER_ADDR", "WORLD_SIZE", "RANK"} & set(env)
        ranks.add(int(index))
    assert ranks == set(range(NODES))


def test_the_trainjob_completes_when_its_pods_succeed(
    cluster: Kube, smoke: tuple[Deployed, list[Obj]]
) -> None:
    def complete() -> Obj | None:
        job = cluster.json("trainjob", JOB, "-n", NAMESPACE)
        return job if condition(job, "Complete") else None

    job = wait_for(complete, f"TrainJob {JOB} Complete", 60)
    assert not condition(job, "Failed")
