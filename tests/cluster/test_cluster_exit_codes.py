"""The ExitCode restart policy as the operator applies it to the trainer's exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field
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
EXIT_USAGE, EXIT_PEER_LOST = contract_exit_codes()  # 2 and 129
BACKOFF_LIMIT = 2
RECREATED = BACKOFF_LIMIT + 2  # master pods of the exit-129 job to observe
EXTRA = f"restartPolicy: ExitCode\nbackoffLimit: {BACKOFF_LIMIT}"
TASKS = task("usage", "small", 1, extra=EXTRA) + task("lost", "small", 1, extra=EXTRA)


@dataclass
class Seen:
    """What the test saw of one job while it ran."""

    uids: set[str] = field(default_factory=set)  # of its master pods
    job: Obj = field(default_factory=dict)  # the last state
    masters: list[Obj] = field(default_factory=list)  # the last master pods
    # The operator's event reasons. (Its Restarting condition is dropped once pods run again,
    # too fast to sample; the event stays. It is also emitted for a non-retryable exit code,
    # whose pod is nevertheless not recreated: the pod UIDs tell.)
    events: set[str] = field(default_factory=set)


@pytest.fixture(scope="module")
def history(
    cluster: Kube, volumes: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Seen]:
    """Watch until the exit-2 job has failed and the exit-129 job's master was made RECREATED
    times."""
    profiles = 'small: {requests: {cpu: "1", memory: 1Gi}}'
    out = build(experiment("exits", profiles, TASKS), tmp_path_factory.mktemp("exits"))
    codes = {"exits-usage": EXIT_USAGE, "exits-lost": EXIT_PEER_LOST}
    for job, code in codes.items():
        annotate_pods(out, job, {KWOK_DELAY: "1s", KWOK_EXIT_CODE: str(code)})
    apply_and_wait_pods(cluster, out, NAMESPACE, volumes)
    seen = {job: Seen() for job in codes}

    def observe() -> bool:
        jobs = {j["metadata"]["name"]: j for j in cluster.items("pytorchjobs", NAMESPACE)}
        for name, record in seen.items():
            record.masters = _masters(cluster, name)
            record.uids |= {p["metadata"]["uid"] for p in record.masters}
            record.job = jobs[name]
        failed = condition(jobs["exits-usage"], "Failed")
        return failed and len(seen["exits-lost"].uids) >= RECREATED

    wait_for(observe, "exit 2 to fail its job and exit 129 to restart its pods", 120, 0.2)
    for name, record in seen.items():
        selector = f"involvedObject.kind=PyTorchJob,involvedObject.name={name}"
        events = cluster.json("events", "-n", NAMESPACE, "--field-selector", selector)["items"]
        record.events = {e["reason"] for e in events}
    return seen


def _masters(cluster: Kube, job: str) -> list[Obj]:
    selector = f"training.kubeflow.org/job-name={job},training.kubeflow.org/replica-type=master"
    return cluster.items("pods", NAMESPACE, selector)


def test_bad_input_exit_2_fails_the_job_without_a_restart(history: dict[str, Seen]) -> None:
    usage = history["exits-usage"]
    assert len(usage.uids) == 1, usage  # the master pod was never recreated
    [master] = usage.masters
    [status] = master["status"]["containerStatuses"]
    assert (
        master["status"]["phase"] == "Failed"
        and status["state"]["terminated"]["exitCode"] == EXIT_USAGE
    )
    failed = next(c for c in usage.job["status"]["conditions"] if c["type"] == "Failed")
    # Master and worker both exit 2; the operator names whichever it saw first.
    assert failed["status"] == "True" and "replica(s) failed" in failed["message"], failed


def test_a_lost_peer_exit_129_is_restarted(history: dict[str, Seen]) -> None:
    lost = history["exits-lost"]
    assert len(lost.uids) >= RECREATED, lost
    assert {"PyTorchJobRestarting", "SuccessfulDeletePod"} <= lost.events, lost.events


def test_backoff_limit_does_not_bound_exit_code_restarts(history: dict[str, Seen]) -> None:
    """Found here: training-operator v1.9.4 counts container restarts of running pods against
    backoffLimit, and ExitCode recreates pods instead (restart count 0): past the limit of 2 the
    job keeps restarting instead of failing. A trainer that always exits 129 loops forever."""
    lost = history["exits-lost"]
    assert lost.job["spec"]["runPolicy"]["backoffLimit"] == BACKOFF_LIMIT
    assert len(lost.uids) > BACKOFF_LIMIT + 1
    assert not condition(lost.job, "Failed"), lost.job["status"]
