"""Every example, built by the CLI and applied, as the real operator turns it into pods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cluster_deploy import POD_JOB_LABEL, Deployed, Started, apply_and_wait_pods, runs_at_once
from cluster_support import (
    EXAMPLES_DIR,
    Kube,
    Obj,
    condition,
    contract_env,
    env_of,
    fltkc_build,
    read_trainer_env,
    wait_for,
)

pytestmark = pytest.mark.slow
EXAMPLES = sorted(p.stem for p in EXAMPLES_DIR.glob("*.yaml"))
MASTER_PORT = "23456"
JOB_LABEL = POD_JOB_LABEL[
    "PyTorchJob"
]  # the container port named pytorchjob-port the compiler emits


class Example:
    def __init__(self, deployed: Deployed, started: dict[str, Started]):
        self.deployed, self.started = deployed, started
        plan = json.loads((deployed.out / "schedule.json").read_text())
        self.world_size = {j["name"]: j["replicas"] for j in plan["jobs"]}


@pytest.fixture(scope="module")
def examples(
    cluster: Kube, volumes: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Example]:
    """Each example built with `fltkc build`, applied into its own restricted namespace."""
    out = tmp_path_factory.mktemp("examples")
    found = {}
    for name in EXAMPLES:
        built = fltkc_build(EXAMPLES_DIR / f"{name}.yaml", out / name)
        found[name] = Example(*apply_and_wait_pods(cluster, built, f"ex-{name}", volumes))
    return found


def test_every_example_applies_without_warnings(examples: dict[str, Example]) -> None:
    assert set(examples) == set(EXAMPLES) and len(EXAMPLES) >= 10
    for name, example in examples.items():
        output = example.deployed.output
        assert "Warning" not in output and "would violate" not in output, f"{name}:\n{output}"
        assert example.deployed.refused == (), f"{name}: {example.deployed.refused}"
        assert output.count("serverside-applied") == len(example.deployed.objects), output


def test_unsuspended_jobs_get_master_and_worker_pods_and_services(
    examples: dict[str, Example],
) -> None:
    checked = 0
    for name, example in examples.items():
        for job in example.deployed.of_kind("PyTorchJob"):
            if not runs_at_once(job):
                continue
            job_name = job["metadata"]["name"]
            workers = job["spec"]["pytorchReplicaSpecs"].get("Worker", {}).get("replicas", 0)
            want = {f"{job_name}-master-0"} | {f"{job_name}-worker-{i}" for i in range(workers)}
            started = example.started[job_name]
            assert {p["metadata"]["name"] for p in started.pods} == want, name
            services = {s["metadata"]["name"]: s for s in started.services}
            assert set(services) == want, name
            for service in services.values():
                assert service["spec"]["clusterIP"] == "None"  # headless, for MASTER_ADDR
                assert [p["port"] for p in service["spec"]["ports"]] == [int(MASTER_PORT)]
            checked += 1
    assert checked >= 10, f"only {checked} unsuspended jobs among the examples"


def test_pods_carry_the_contract_env_and_the_trainer_resolves_the_plan(
    examples: dict[str, Example],
) -> None:
    operator_env, compiler_env = contract_env()
    checked = 0
    for name, example in examples.items():
        for job_name, started in example.started.items():
            world = example.world_size[job_name]
            for pod in started.pods:
                labels = pod["metadata"]["labels"]
                role = labels["training.kubeflow.org/replica-type"]
                rank = (
                    0
                    if role == "master"
                    else 1 + int(labels["training.kubeflow.org/replica-index"])
                )
                env = env_of(pod, "pytorch")
                assert set(operator_env) | set(compiler_env) <= set(env), (name, sorted(env))
                fltk = {k for k in env if k.startswith("FLTK_")}
                assert fltk == set(compiler_env), f"{name}: FLTK_* beyond the contract: {fltk}"
                assert env["MASTER_ADDR"] == f"{job_name}-master-0"
                assert env["MASTER_PORT"] == MASTER_PORT
                resolved = read_trainer_env(env)
                assert (resolved.rank, resolved.world_size) == (rank, world), pod["metadata"]
                assert resolved.job_name == job_name and resolved.master_port == int(MASTER_PORT)
                checked += 1
    assert checked >= 20


def test_suspended_jobs_create_no_pods(cluster: Kube, examples: dict[str, Example]) -> None:
    suspended = 0
    for namespace in sorted({e.deployed.namespace for e in examples.values()}):
        live = {j["metadata"]["name"]: j for j in cluster.items("pytorchjobs", namespace)}
        owners = {p["metadata"]["labels"].get(JOB_LABEL) for p in cluster.items("pods", namespace)}
        for example in examples.values():
            if example.deployed.namespace != namespace:
                continue
            for job in example.deployed.of_kind("PyTorchJob"):
                name = job["metadata"]["name"]
                if job["spec"]["runPolicy"].get("suspend"):
                    assert condition(live[name], "Suspended"), live[name].get("status")
                    assert name not in owners, f"suspended {name} has pods"
                    suspended += 1
    assert suspended >= 5


def test_finished_pods_make_the_job_succeed(cluster: Kube, examples: dict[str, Example]) -> None:
    """kwok ends each pod Succeeded after a delay; the operator then marks the job Succeeded."""
    quick = examples["quickstart"].deployed
    job = "quickstart-ddp-mnist"

    def succeeded() -> Obj | None:
        live = cluster.json("pytorchjob", job, "-n", quick.namespace)
        return live if condition(live, "Succeeded") else None

    live = wait_for(succeeded, f"{job} Succeeded", 60)
    assert not condition(live, "Failed")
    master = cluster.json("pod", f"{job}-master-0", "-n", quick.namespace)
    assert master["status"]["phase"] == "Succeeded"
