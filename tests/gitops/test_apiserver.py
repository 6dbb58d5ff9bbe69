"""The built manifests and the release against a real kube-apiserver (etcd, RBAC, PodSecurity)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from apiserver import ApiServer, running_apiserver
from compiler_support import GOLDEN_DIR
from k8s_tools import EXTRA_CRD_DIR, pytorchjob_crd
from test_release import FakeClock

from trainer.release import LABEL_QUEUE, Releaser, Settings, read_schedule

# reference: namespace fltk, Kueue (jobs released by label); quickstart: no namespace, applied
# with -n quick (jobs released by un-suspending).
SA_REFERENCE = "system:serviceaccount:fltk:reference-release"
SA_QUICK = "system:serviceaccount:quick:quickstart-release"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    crds = [pytorchjob_crd(), *sorted(EXTRA_CRD_DIR.glob("kueue*.yaml"))]
    with running_apiserver(tmp_path_factory.mktemp("apiserver"), [SA_REFERENCE, SA_QUICK]) as s:
        for crd in crds:
            s.kubectl("apply", "--server-side", "-f", str(crd))
        s.kubectl("wait", "--for", "condition=established", "--timeout", "60s", "crd", "--all")
        for ns in ("fltk", "quick"):
            s.kubectl("create", "namespace", ns)
            s.kubectl("label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted",
                      "pod-security.kubernetes.io/warn=restricted")  # fmt: skip
        yield s


def _api(server: ApiServer, user: str) -> Any:
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = server.url
    configuration.verify_ssl = False
    configuration.api_key = {"BearerToken": server.tokens[user]}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    return client.CustomObjectsApi(client.ApiClient(configuration))


def _jobs(server: ApiServer, namespace: str) -> dict[str, Any]:
    listed = json.loads(server.kubectl("get", "pytorchjobs", "-n", namespace, "-o", "json"))
    return {item["metadata"]["name"]: item for item in listed["items"]}


@pytest.fixture(scope="module")
def applied(server: ApiServer) -> dict[str, str]:
    """kubectl apply --server-side -k of two goldens; the output of each."""
    return {
        "reference": server.kubectl("apply", "--server-side", "-k", str(GOLDEN_DIR / "reference")),
        "quickstart": server.kubectl(
            "apply", "--server-side", "-n", "quick", "-k", str(GOLDEN_DIR / "quickstart")
        ),
    }


def test_every_object_is_accepted_without_pod_security_warnings(
    server: ApiServer, applied: dict[str, str]
) -> None:
    for name, output in applied.items():
        assert "PodSecurity" not in output and "Warning" not in output, output
        listed = set(yaml.safe_load((GOLDEN_DIR / name / "kustomization.yaml").read_text())[
            "resources"])  # fmt: skip
        assert output.count("serverside-applied") == len(listed), output
    kinds = server.kubectl("get", "clusterqueues,resourceflavors", "-o", "name")
    assert "clusterqueue.kueue.x-k8s.io/reference" in kinds  # cluster-scoped despite namespace:
    assert "resourceflavor.kueue.x-k8s.io/reference-flavor" in kinds


def test_release_role_grants_exactly_get_list_patch(
    server: ApiServer, applied: dict[str, str]
) -> None:
    token = server.tokens[SA_REFERENCE]

    def can(*args: str) -> str:
        return server.kubectl("auth", "can-i", *args, token=token, check=False).strip()

    for verb in ("get", "list", "patch"):
        assert can(verb, "pytorchjobs.kubeflow.org", "-n", "fltk") == "yes", verb
    for verb in ("create", "delete", "update", "watch", "deletecollection"):
        assert can(verb, "pytorchjobs.kubeflow.org", "-n", "fltk") == "no", verb
    assert can("patch", "pytorchjobs.kubeflow.org", "-n", "quick") == "no"
    assert can("get", "pods", "-n", "fltk") == "no"
    assert can("get", "configmaps", "-n", "fltk") == "no"


def test_release_with_kueue_labels_each_job_at_its_offset(
    server: ApiServer, applied: dict[str, str], tmp_path: Path
) -> None:
    before = _jobs(server, "fltk")
    schedule = read_schedule(GOLDEN_DIR / "reference" / "schedule.json", "reference")
    delayed = {e.name for e in schedule if e.offset > 0}
    assert delayed and all(LABEL_QUEUE not in before[n]["metadata"]["labels"] for n in delayed)
    settings = Settings("reference", "fltk", schedule, tmp_path / "release.json", "research")
    clock = FakeClock()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # urllib3: the test server's self-signed certificate
        state = Releaser(settings, _api(server, SA_REFERENCE), clock).run()
    after = _jobs(server, "fltk")
    for entry in schedule:
        job = after[entry.name]
        assert job["metadata"]["labels"][LABEL_QUEUE] == "research"
        assert job["spec"]["runPolicy"].get("suspend", False) == (entry.name in delayed)
        assert state["jobs"][entry.name]["at"] - 1_700_000_000.0 == pytest.approx(entry.offset)
    assert {state["jobs"][n]["action"] for n in delayed} == {"released"}


def test_release_unsuspends_and_a_restart_changes_nothing(
    server: ApiServer, applied: dict[str, str], tmp_path: Path
) -> None:
    schedule = read_schedule(GOLDEN_DIR / "quickstart" / "schedule.json", "quickstart")
    last = schedule[-1].name
    status = {"status": {"conditions": [{"type": "Succeeded", "status": "True",
                                         "reason": "PyTorchJobSucceeded"}]}}  # fmt: skip
    server.kubectl("patch", "pytorchjob", last, "-n", "quick", "--subresource", "status",
                   "--type", "merge", "-p", json.dumps(status))  # fmt: skip
    settings = Settings("quickstart", "quick", schedule, tmp_path / "release.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = Releaser(settings, _api(server, SA_QUICK), FakeClock()).run()
        jobs = _jobs(server, "quick")
        versions = {n: j["metadata"]["resourceVersion"] for n, j in jobs.items()}
        again = Releaser(settings, _api(server, SA_QUICK), FakeClock(1_800_000_000.0)).run()
    assert [state["jobs"][e.name]["action"] for e in schedule] == [
        "left-running", "released", "released", "left-finished"]  # fmt: skip
    assert [jobs[e.name]["spec"]["runPolicy"].get("suspend", False) for e in schedule] == [
        False, False, False, True]  # fmt: skip
    after = _jobs(server, "quick")
    assert {n: j["metadata"]["resourceVersion"] for n, j in after.items()} == versions
    assert again["startTime"] == state["startTime"]


def test_pod_security_warning_check_can_fail(
    server: ApiServer, applied: dict[str, str], tmp_path: Path
) -> None:
    """The warning check above can fail: a baseline build's release Job draws a warning."""
    from compiler_support import EXAMPLES_DIR

    from fltkc.compile.build import build_files, plan_file

    text = (EXAMPLES_DIR / "quickstart.yaml").read_text()
    text = text.replace("  seed: 42\n", "  seed: 42\n  security: {podSecurity: baseline}\n")
    (tmp_path / "exp.yaml").write_text(text)
    job = build_files(plan_file(tmp_path / "exp.yaml"))["job-quickstart-release.yaml"]
    # Another name: a Job's template is immutable, so re-applying the same name is refused.
    renamed = job.replace(b"\n  name: quickstart-release\n", b"\n  name: baseline-release\n")
    assert renamed != job
    (tmp_path / "job.yaml").write_bytes(renamed)
    output = server.kubectl(
        "apply",
        "--server-side",
        "--dry-run=server",
        "-n",
        "quick",
        "-f",
        str(tmp_path / "job.yaml"),
    )
    assert "would violate PodSecurity" in output and "runAsNonRoot" in output
