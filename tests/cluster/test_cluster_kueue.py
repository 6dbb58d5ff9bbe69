"""Kueue admits the built queues' jobs by the quota the build sized; the rest wait their turn."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cluster_deploy import deploy
from cluster_experiments import annotate_pods, build, experiment, task
from cluster_support import KWOK_DELAY, Kube, Obj, condition, wait_for

pytestmark = pytest.mark.slow
JOBS = ("queued-train-a0", "queued-train-a1", "queued-train-a2")
PROFILES = 'small: {requests: {cpu: "1", memory: 1Gi}}'
# Three arrivals at once; the ClusterQueue's quota is one job's requests (2 pods).
TASKS = task("train", "small", 1, offsets=(0, 0, 0))
KUEUE = "  kueue: {queueName: lane, emitQueues: true}\n"


def _workloads(cluster: Kube, namespace: str) -> dict[str, Obj]:
    """Kueue's Workload of each job, by job name."""
    found = {}
    for w in cluster.items("workloads.kueue.x-k8s.io", namespace):
        for owner in w["metadata"].get("ownerReferences", []):
            found[owner["name"]] = w
    return found


@pytest.fixture(scope="module")
def timeline(
    cluster: Kube, volumes: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, str]]:
    """Apply, then sample every job's state until all have succeeded: running/waiting/done."""
    out = build(experiment("queued", PROFILES, TASKS, KUEUE), tmp_path_factory.mktemp("kueue"))
    for job in JOBS:
        annotate_pods(out, job, {KWOK_DELAY: "2s"})  # shorter runs: a quicker test
    deployed = deploy(cluster, out, "kueue", volumes)
    assert "Warning" not in deployed.output, deployed.output
    samples: list[dict[str, str]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        jobs = {j["metadata"]["name"]: j for j in cluster.items("pytorchjobs", "kueue")}
        states = {}
        for name in JOBS:
            job = jobs.get(name, {})
            if condition(job, "Succeeded"):
                states[name] = "done"
            elif job and job["spec"]["runPolicy"].get("suspend") is False:
                states[name] = "running"
            else:
                states[name] = "waiting"
        samples.append(states)
        if all(s == "done" for s in states.values()):
            return samples
        time.sleep(0.2)
    raise AssertionError(f"not every job finished; last states {samples[-1:]}")


def test_the_build_sizes_one_jobs_worth_of_quota(cluster: Kube, timeline: object) -> None:
    queue = cluster.json("clusterqueue", "queued")
    quota = {
        r["name"]: r["nominalQuota"]
        for r in queue["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
    }
    assert quota == {"cpu": "2", "memory": "2Gi"}
    local = cluster.json("localqueue", "lane", "-n", "kueue")
    assert local["spec"]["clusterQueue"] == "queued"


def test_one_job_runs_at_a_time_and_the_rest_wait(timeline: list[dict[str, str]]) -> None:
    assert all(list(s.values()).count("running") <= 1 for s in timeline), timeline
    first = timeline[0]
    assert list(first.values()).count("waiting") >= 2, first


def test_admission_follows_as_jobs_finish(cluster: Kube, timeline: list[dict[str, str]]) -> None:
    order = []
    for states in timeline:
        for name, state in states.items():
            if state != "waiting" and name not in order:
                order.append(name)
    assert sorted(order) == sorted(JOBS)
    workloads = _workloads(cluster, "kueue")
    assert set(workloads) == set(JOBS)
    for w in workloads.values():
        assert condition(w, "Admitted") or condition(w, "Finished"), w["status"]
        assert condition(w, "Finished"), w["status"]

    def drained() -> Obj | None:
        status: Obj = cluster.json("clusterqueue", "queued")["status"]
        idle = status.get("admittedWorkloads", 0) == 0 and status.get("pendingWorkloads", 0) == 0
        return status if idle else None

    wait_for(drained, "the ClusterQueue to release the finished jobs' quota", 30)
