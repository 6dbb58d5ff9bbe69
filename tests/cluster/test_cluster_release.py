"""The release (`python -m trainer.release`) as a local process with its ServiceAccount's token.

trainer/release.py has no time-scale option: the test feeds it the built schedule.json with
every offset divided by SCALE (same jobs, same order) and polls every 0.2 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from cluster_deploy import Deployed, apply_and_wait_pods, flux_apply, job_pods, render
from cluster_support import EXAMPLES_DIR, Kube, Obj, fltkc_build, wait_for

pytestmark = pytest.mark.slow
SCALE = 4.0
NAMESPACE = "release"
EXPERIMENT = "quickstart"
SERVICE_ACCOUNT = "quickstart-release"
FLUX_SSA = "kustomize.toolkit.fluxcd.io/ssa"


@dataclass(frozen=True)
class Released:
    deployed: Deployed
    offsets: dict[str, float]  # scaled, as the release saw them
    before_restart: dict[str, object]
    final: dict[str, object]
    logs: tuple[str, str]  # the two runs' output
    pods_at_release: dict[str, int]  # pods of each delayed job when it was released (0)


def _release(
    kube: Kube, schedule: Path, state: Path, log: Path, namespace: str = NAMESPACE
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env["KUBECONFIG"] = str(kube.kubeconfig)
    command = [
        sys.executable,
        "-m",
        "trainer.release",
        "--schedule",
        str(schedule),
        "--state",
        str(state),
        "--experiment",
        EXPERIMENT,
        "--namespace",
        namespace,
        "--poll-seconds",
        "0.2",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


@pytest.fixture(scope="module")
def deployed(cluster: Kube, volumes: Path, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    out = fltkc_build(EXAMPLES_DIR / f"{EXPERIMENT}.yaml", tmp_path_factory.mktemp("rel") / "out")
    return apply_and_wait_pods(cluster, out, NAMESPACE, volumes)[0]


@pytest.fixture(scope="module")
def release_kube(
    cluster: Kube, deployed: Deployed, tmp_path_factory: pytest.TempPathFactory
) -> Kube:
    token = cluster.token(NAMESPACE, SERVICE_ACCOUNT)
    return cluster.as_token(token, tmp_path_factory.mktemp("token") / "kubeconfig")


@pytest.fixture(scope="module")
def released(
    cluster: Kube, deployed: Deployed, release_kube: Kube, tmp_path_factory: pytest.TempPathFactory
) -> Released:
    """Run the release, stop it after its first release, start it again, let it finish."""
    tmp = tmp_path_factory.mktemp("release")
    plan = json.loads((deployed.out / "schedule.json").read_text())
    for job in plan["jobs"]:
        job["offsetSeconds"] = round(job["offsetSeconds"] / SCALE, 3)
    (tmp / "schedule.json").write_text(json.dumps(plan))
    offsets = {j["name"]: j["offsetSeconds"] for j in plan["jobs"]}
    jobs = {j["metadata"]["name"]: j for j in deployed.of_kind("PyTorchJob")}
    delayed = [n for n, o in offsets.items() if o > 0]
    pods_before = {n: len(job_pods(cluster, NAMESPACE, jobs[n])) for n in delayed}
    state = tmp / "state" / "release.json"

    def handled() -> dict[str, object] | None:
        try:
            kept = json.loads(state.read_text())
        except (OSError, ValueError):
            return None
        return kept if any(r["action"] == "released" for r in kept["jobs"].values()) else None

    first = _release(release_kube, tmp / "schedule.json", state, tmp / "run1.log")
    before = wait_for(handled, "the first release", 30, 0.05)
    first.send_signal(signal.SIGTERM)
    assert first.wait(10) != 0, "stopped before the end of the schedule, as intended"
    time.sleep(0.3)
    second = _release(release_kube, tmp / "schedule.json", state, tmp / "run2.log")
    assert second.wait(60) == 0, (tmp / "run2.log").read_text()
    final = json.loads(state.read_text())
    logs = ((tmp / "run1.log").read_text(), (tmp / "run2.log").read_text())
    return Released(deployed, offsets, before, final, logs, pods_before)


def _created(pod: Obj) -> float:
    stamp = pod["metadata"]["creationTimestamp"].replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def test_release_unsuspends_each_job_at_its_offset(cluster: Kube, released: Released) -> None:
    final, start = released.final, float(released.final["startTime"])  # type: ignore[arg-type]
    records = final["jobs"]  # type: ignore[index]
    delayed = [n for n, o in released.offsets.items() if o > 0]
    assert len(delayed) == 3 and set(released.pods_at_release.values()) == {0}
    assert records["quickstart-ddp-mnist"]["action"] == "left-running"
    for name in delayed:
        record = records[name]
        assert record["action"] == "released", record
        assert record["at"] - start >= released.offsets[name] - 0.01, (name, record)
        assert record["lateSeconds"] < 5.0, (name, record)  # includes the restart gap
        live = cluster.json("pytorchjob", name, "-n", NAMESPACE)
        assert live["spec"]["runPolicy"]["suspend"] is False
        pods = wait_for(
            lambda job=live: job_pods(cluster, NAMESPACE, job) or None,  # type: ignore[misc]
            f"pods of {name}",
            30,
        )
        # Second resolution: a pod made before the release would show an earlier second.
        assert min(_created(p) for p in pods) >= int(record["at"]), (name, record)


def test_a_restart_neither_rereleases_nor_shifts_the_clock(released: Released) -> None:
    before, final = released.before_restart, released.final
    assert final["startTime"] == before["startTime"]
    kept = before["jobs"]
    assert kept and all(final["jobs"][n] == r for n, r in kept.items())  # type: ignore[index]
    second_run = released.logs[1]
    assert f"{len(kept)} handled before" in second_run, second_run  # type: ignore[arg-type]
    for name in kept:  # type: ignore[union-attr]
        assert f"{name} released" not in second_run, second_run


def test_the_release_is_denied_anything_beyond_its_role(
    cluster: Kube, release_kube: Kube, deployed: Deployed, tmp_path: Path
) -> None:
    def can(*args: str) -> str:
        return release_kube.run("auth", "can-i", *args, check=False).stdout.strip()

    for verb in ("get", "list", "patch"):
        assert can(verb, "pytorchjobs.kubeflow.org", "-n", NAMESPACE) == "yes", verb
    for verb in ("create", "delete", "update", "watch"):
        assert can(verb, "pytorchjobs.kubeflow.org", "-n", NAMESPACE) == "no", verb
    assert can("get", "pods", "-n", NAMESPACE) == "no"
    assert can("patch", "pytorchjobs.kubeflow.org", "-n", "default") == "no"
    done = release_kube.run(
        "delete", "pytorchjob", "quickstart-ddp-mnist", "-n", NAMESPACE, check=False
    )
    assert done.returncode != 0 and "Forbidden" in done.stderr, done.stderr
    # The real release in a namespace its Role does not cover exits 1 naming the fix.
    cluster.namespace("release-elsewhere")
    proc = _release(
        release_kube,
        deployed.out / "schedule.json",
        tmp_path / "s.json",
        tmp_path / "denied.log",
        namespace="release-elsewhere",
    )
    assert proc.wait(60) == 1
    assert "denied (403" in (tmp_path / "denied.log").read_text()


def test_reapplying_out_changes_nothing_and_keeps_released_jobs_running(
    cluster: Kube, released: Released
) -> None:
    out = released.deployed.out
    delayed = [n for n, o in released.offsets.items() if o > 0]

    def snapshot() -> dict[str, tuple[str, int, bool]]:
        jobs = cluster.items("pytorchjobs", NAMESPACE)
        return {
            j["metadata"]["name"]: (
                j["metadata"]["uid"],
                j["metadata"]["generation"],
                j["spec"]["runPolicy"].get("suspend", False),
            )
            for j in jobs
        }

    def others() -> dict[str, str]:
        kinds = "configmaps,persistentvolumeclaims,serviceaccounts,roles,rolebindings,jobs"
        listed = cluster.json(kinds, "-n", NAMESPACE)["items"]
        return {
            f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in listed
        }

    before, versions = snapshot(), others()
    assert not any(before[n][2] for n in delayed)
    # By hand, plain server-side apply: the release owns suspend now, so the apply stops there.
    plain = cluster.run("apply", "--server-side", "-k", str(out), "-n", NAMESPACE, check=False)
    assert plain.returncode != 0 and ".spec.runPolicy.suspend" in plain.stderr, plain.stderr
    assert snapshot() == before and others() == versions
    # As Flux applies (its own engine): the jobs, annotated ssa: IfNotPresent, are skipped;
    # the rest did not drift, so nothing is written.
    objects = render(out)
    marked = {
        f"{o['kind']}/{NAMESPACE}/{o['metadata']['name']}"
        for o in objects
        if o["metadata"].get("annotations", {}).get(FLUX_SSA) == "IfNotPresent"
    }
    assert {f"PyTorchJob/{NAMESPACE}/{name}" for name in delayed} <= marked
    actions = flux_apply(cluster, objects, NAMESPACE)
    assert {s for s, a in actions.items() if a == "skipped"} == marked, actions
    assert set(actions.values()) == {"skipped", "unchanged"}, actions
    assert snapshot() == before and others() == versions
    # What KUBEFLOW.md warns of: forcing the jobs too suspends the released jobs again.
    forced = cluster.run(
        "apply", "--server-side", "--force-conflicts", "-k", str(out), "-n", NAMESPACE
    )
    assert "serverside-applied" in forced.stdout
    assert all(snapshot()[n][2] for n in delayed)
