"""The ExitCode restart policy as the operator applies it to the trainer's exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_deploy import apply_and_wait_pods
from cluster_experiments import annotate_pods, build, experiment, task
from cluster_support import (
    KWOK_DELAY,
    KWOK_EXIT_CODE,
    Kube,
    Obj,
    condition,
    contract_exit_codes,
    wait_for,
)

pytestmark = pytest.mark.slow
NAMESPACE = "exits"
BACKOFF_LIMIT = 2
RECREATED = BACKOFF_LIMIT + 2  # master pods of the exit-129 job to observe
EXTRA = f"restartPolicy: ExitCode\nbackoffLimit: {BACKOFF_LIMIT}"
TASKS = task("usage", "small", 1, extra=EXTRA) + task("lost", "small", 1, extra=EXTRA)


def _pods(cluster: Kube, job: str) -> list[Obj]:
    return cluster.items("pods", NAMESPACE, f"training.kubeflow.org/job-name={job}")


@pytest.fixture(scope="module")
def history(
    cluster: Kube, volumes: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, object]]:
    """Per job: master pod UIDs seen, condition types seen, the last state of the job.

    Until the exit-2 job has failed and the exit-129 job's master was created RECREATED times.
    """
    profiles = 'small: {requests: {cpu: "1", memory: 1Gi}}'
    out = build(experiment("exits", profiles, TASKS), tmp_path_factory.mktemp("exits"))
    usage, lost = contract_exit_codes()
    codes = {"exits-usage": usage, "exits-lost": lost}
    for job, code in codes.items():
        annotate_pods(out, job, {KWOK_DELAY: "1s", KWOK_EXIT_CODE: str(code)})
    apply_and_wait_pods(cluster, out, NAMESPACE, volumes)
    seen: dict[str, dict[str, object]] = {j: {"uids": set(), "conditions": set()} for j in codes}

    def observe() -> bool:
        jobs = {j["metadata"]["name"]: j for j in cluster.items("pytorchjobs", NAMESPACE)}
        for name, record in seen.items():
            record["uids"] |= {p["metadata"]["uid"] for p in _masters(cluster, name)}  # type: ignore[operator]
            # Any status: Restarting flips back to False once the new pods run.
            conditions = (jobs[name].get("status") or {}).get("conditions") or []
            record["conditions"] |= {c["type"] for c in conditions}  # type: ignore[operator]
            record["job"] = jobs[name]
        lost_uids: set[str] = seen["exits-lost"]["uids"]  # type: ignore[assignment]
        return condition(jobs["exits-usage"], "Failed") and len(lost_uids) >= RECREATED

    wait_for(observe, "exit 2 to fail its job and exit 129 to restart its pods", 120, 0.2)
    return seen


def _masters(cluster: Kube, job: str) -> list[Obj]:
    selector = f"training.kubeflow.org/job-name={job},training.kubeflow.org/replica-type=master"
    return cluster.items("pods", NAMESPACE, selector)


def test_bad_input_exit_2_fails_the_job_without_a_restart(
    history: dict[str, dict[str, object]],
) -> None:
    usage = history["exits-usage"]
    assert len(usage["uids"]) == 1, usage  # type: ignore[arg-type]
    assert "Restarting" not in usage["conditions"], usage["conditions"]
    job: Obj = usage["job"]  # type: ignore[assignment]
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    # Master and worker both exit 2; the operator names whichever it saw first.
    assert failed["status"] == "True" and "replica(s) failed" in failed["message"], failed


def test_a_lost_peer_exit_129_is_restarted(history: dict[str, dict[str, object]]) -> None:
    lost = history["exits-lost"]
    assert len(lost["uids"]) >= RECREATED, lost  # type: ignore[arg-type]
    assert "Restarting" in lost["conditions"], lost["conditions"]


def test_backoff_limit_does_not_bound_exit_code_restarts(
    history: dict[str, dict[str, object]],
) -> None:
    """Found here: training-operator v1.9.4 counts container restarts of running pods against
    backoffLimit, and ExitCode recreates pods instead (restart count 0): past the limit of 2 the
    job keeps restarting instead of failing. A trainer that always exits 129 loops forever."""
    lost = history["exits-lost"]
    job: Obj = lost["job"]  # type: ignore[assignment]
    assert job["spec"]["runPolicy"]["backoffLimit"] == BACKOFF_LIMIT
    assert len(lost["uids"]) > BACKOFF_LIMIT + 1  # type: ignore[arg-type]
    assert not condition(job, "Failed"), job["status"]
