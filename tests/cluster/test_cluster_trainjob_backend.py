"""The compiler's TrainJob output on the real Trainer v2 controller and JobSet (issue 10, point 7).

Every example built with `--backend trainjob`, among them one whose master and workers share a
size (the Torch runtime's `PET_*` env) and one whose server is sized apart (the `node` + `worker`
layout with the operator-style env). Each applies into a restricted namespace without the API
server's warnings, and every pod of every job that runs at once carries an env from which the
trainer's own reader resolves the rank and world size the plan gives the job.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from cluster_deploy import deploy, job_pods, runs_at_once
from cluster_support import EXAMPLES_DIR, Kube, Obj, env_of, fltkc_build, read_trainer_env, wait_for

from fltkc import contract

pytestmark = pytest.mark.slow
EXAMPLES = sorted(path.stem for path in EXAMPLES_DIR.glob("*.yaml"))
# Each layout has at least one job that runs at once: the pods below are checked for both.
STARTS_AT_ONCE = ("quickstart", "distributed-cifar10-resnet")
CONTAINERS = (contract.TRAINJOB_NODE, contract.TRAINJOB_WORKER)
SORT_NOTE = "Sorting order is set both in 'kustomization.yaml' ('sortOptions') and in a CLI flag"


def _own_namespace(example: str, into: Path) -> Path:
    """The example with `metadata.namespace` set to a namespace of its own.

    tests/cluster/test_cluster_examples.py applies the PyTorchJob build of the same examples
    into the namespace they name; the trainjob build's release Job differs in its arguments, and
    a Job's pod template is immutable, so the second apply would be refused there.
    """
    text = (EXAMPLES_DIR / f"{example}.yaml").read_text()
    moved = re.sub(r"^(  namespace:) *\S+", rf"\1 tj-{example}", text, count=1, flags=re.M)
    path = into / f"{example}.yaml"
    path.write_text(moved)
    shutil.copytree(EXAMPLES_DIR / "traces", into / "traces")  # the files it names, beside it
    return path


def _trainer_env(pod: Obj) -> dict[str, str]:
    (name,) = [c["name"] for c in pod["spec"]["containers"] if c["name"] in CONTAINERS]
    return env_of(pod, name)


@pytest.mark.parametrize("example", EXAMPLES)
def test_trainjob_pods_resolve_the_planned_ranks(
    cluster: Kube, volumes: Path, tmp_path: Path, example: str
) -> None:
    source = _own_namespace(example, tmp_path)
    out = fltkc_build(source, tmp_path / "out", "--backend", "trainjob")
    deployed = deploy(cluster, out, f"tj-{example}", volumes)
    # kubectl's kustomize logs that the kustomization's sortOptions (TrainJob after its
    # runtime) win over its own --reorder flag: a client note, not the API server's warning.
    server = [line for line in deployed.output.splitlines() if SORT_NOTE not in line]
    assert not [line for line in server if "Warning" in line], deployed.output
    replicas = {
        j["name"]: j["replicas"] for j in json.loads((out / "schedule.json").read_text())["jobs"]
    }
    started = [job for job in deployed.of_kind("TrainJob") if runs_at_once(job)]
    assert started or example not in STARTS_AT_ONCE, "no job runs at once: nothing to check"
    for job in started:
        name, want = job["metadata"]["name"], replicas[job["metadata"]["name"]]

        def all_pods(job: Obj = job, want: int = want) -> list[Obj] | None:
            found = job_pods(cluster, deployed.namespace, job)
            return found if len(found) >= want else None

        pods = wait_for(all_pods, f"{want} pods of TrainJob {name}", 90)
        resolved = [read_trainer_env(_trainer_env(pod)) for pod in pods]
        assert sorted(env.rank for env in resolved) == list(range(want)), name
        assert {env.world_size for env in resolved} == {want}, name
        assert {env.job_name for env in resolved} == {name}
