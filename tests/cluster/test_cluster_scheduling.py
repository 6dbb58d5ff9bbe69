"""The real scheduler places the compiled pods: taints, node selectors, GPUs, what cannot fit."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_deploy import apply_and_wait_pods
from cluster_experiments import annotate_pods, build, experiment, task
from cluster_support import KWOK_DELAY, Kube, Obj, wait_for

from fltkc.cluster.manifests import GPU

pytestmark = pytest.mark.slow
GPU_NODE, CPU_NODE = "gpu-node-0", "cpu-node-0"
PROFILES = """
gpu:
  requests: {cpu: "1", memory: 1Gi}
  gpus: {count: 1}
  nodeSelector: {accelerator: nvidia-a100}
  tolerations: ["fltk.node=normal:NoSchedule"]
plain: {requests: {cpu: 500m, memory: 512Mi}, tolerations: []}
huge: {requests: {cpu: "1", memory: 1Gi}, gpus: {count: 16}}
wide: {requests: {cpu: "40", memory: 1Gi}, tolerations: []}
"""
# "wide": two 40-CPU pods without the toleration. One fits the plain node; the other would fit
# only the tainted node, so it must stay Pending however free that node is.
TASKS = task("gpu", "gpu", 3, "plain") + task("huge", "huge") + task("wide", "wide", 1)


@pytest.fixture(scope="module")
def placed(
    cluster: Kube, volumes: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Obj]:
    out = build(experiment("sched", PROFILES, TASKS), tmp_path_factory.mktemp("sched"))
    # Keep them running: a finished master makes the operator delete running workers.
    annotate_pods(out, "sched-gpu", {KWOK_DELAY: "300s"})
    deployed, _ = apply_and_wait_pods(cluster, out, "sched", volumes)

    def settled() -> dict[str, Obj] | None:
        pods = {p["metadata"]["name"]: p for p in cluster.items("pods", deployed.namespace)}
        decided = [p["spec"].get("nodeName") or _unschedulable(p) for p in pods.values()]
        return pods if len(pods) == 7 and all(decided) else None

    return wait_for(settled, "the scheduler to bind or reject every pod", 60)


def _unschedulable(pod: Obj) -> str | None:
    for c in pod["status"].get("conditions", []):
        if c["type"] == "PodScheduled" and c["status"] == "False":
            return f"{c.get('reason')}: {c.get('message')}"
    return None


def test_selector_and_gpu_pods_land_on_the_gpu_node(placed: dict[str, Obj]) -> None:
    master = placed["sched-gpu-master-0"]
    assert master["spec"]["nodeName"] == GPU_NODE
    limits = master["spec"]["containers"][0]["resources"]["limits"]
    assert limits[GPU] == "1" and master["spec"]["nodeSelector"] == {"accelerator": "nvidia-a100"}


def test_pods_without_the_toleration_avoid_the_tainted_node(placed: dict[str, Obj]) -> None:
    workers = [p for n, p in placed.items() if n.startswith("sched-gpu-worker-")]
    assert len(workers) == 3
    assert {p["spec"]["nodeName"] for p in workers} == {CPU_NODE}
    assert all(
        not p["spec"].get("tolerations")
        or all(t.get("key") != "fltk.node" for t in p["spec"]["tolerations"])
        for p in workers
    )


def test_a_pod_that_cannot_fit_stays_pending_with_the_schedulers_reason(
    placed: dict[str, Obj],
) -> None:
    huge = placed["sched-huge-master-0"]
    assert huge["status"]["phase"] == "Pending" and not huge["spec"].get("nodeName")
    reason = _unschedulable(huge) or ""
    assert reason.startswith("Unschedulable: 0/2 nodes are available"), reason
    assert f"Insufficient {GPU}" in reason, reason


def test_the_taint_keeps_out_a_pod_that_would_fit_only_there(placed: dict[str, Obj]) -> None:
    wide = [p for n, p in placed.items() if n.startswith("sched-wide-")]
    assert [p["spec"].get("nodeName") for p in wide].count(CPU_NODE) == 1, wide
    pending = next(p for p in wide if not p["spec"].get("nodeName"))
    reason = _unschedulable(pending) or ""
    # One node short of CPU, the other (the tainted one, which has room) refused for its taint.
    assert "1 Insufficient cpu, 1 node(s) had untolerated taint" in reason, reason
