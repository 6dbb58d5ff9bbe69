"""Backend trainjob: real CRDs, Trainer v2.3.0's webhook rules, pods equal to PyTorchJob's."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from compiler_support import EXAMPLES, EXAMPLES_DIR, GOLDEN_DIR, GOLDEN_TRAINJOB_DIR, read_dir
from k8s_tools import assert_valid_manifests, extra_crds, kubeconform_binary, trainer_crds
from typer.testing import CliRunner

from fltkc import contract
from fltkc.check.kustomization import resources_only
from fltkc.cli import app
from fltkc.compile.build import build_files, plan_file
from fltkc.errors import CompileError
from fltkc.local.trainjob import ReplicatedJob, replicated_jobs, strategic_merge

# The PyTorchJob build's count (test_compiler_kubeconform.py) plus the TrainingRuntimes.
EXPECTED_VALID = {
    "distributed-cifar10-resnet": 5 + 1,
    "federated-mnist-dirichlet": 20 + 1,
    "federated-stragglers": 9 + 1,
    "mixture": 28 + 2,  # a runtime for each of its two tasks
    "model-cifar10-cnn": 5 + 1,
    "model-cifar10-resnet": 5 + 1,
    "model-cifar100-resnet": 5 + 1,
    "model-cifar100-vgg": 5 + 1,
    "model-fashion-mnist-cnn": 5 + 1,
    "model-fashion-mnist-resnet": 5 + 1,
    "model-reddit-lstm": 5 + 1,
    "quickstart": 15 + 1,
    "reference": 55 + 2,
    "sweep-fedprox": 27 + 1,
}
# Examples whose master and workers differ in size: the server alone in `node`, workers apart.
SPLIT = {"distributed-cifar10-resnet", "federated-mnist-dirichlet", "reference"}
RESERVED_CONTAINERS = ("node", "dataset-initializer", "model-initializer")
_DOMAIN_PREFIXED = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[-A-Za-z0-9_.]+")


def _objects(directory: Path) -> dict[str, dict[str, Any]]:
    return {
        name: yaml.safe_load(text)
        for name, text in read_dir(directory).items()
        if name.endswith(".yaml") and name != "kustomization.yaml"
    }


def _by_kind(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in _objects(directory).values() if o.get("kind") == kind}


def test_every_example_has_an_expected_count() -> None:
    assert sorted(EXPECTED_VALID) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_trainjob_golden_passes_kubeconform_strict_with_the_trainer_crds(name: str) -> None:
    with resources_only(GOLDEN_TRAINJOB_DIR / name) as listed:
        assert_valid_manifests(listed, EXPECTED_VALID[name], (*trainer_crds(), *extra_crds()))


def test_validate_manifests_takes_the_trainer_crds_and_catches_a_broken_trainjob(
    tmp_path: Path,
) -> None:
    golden = GOLDEN_TRAINJOB_DIR / "quickstart"
    kubeconform_binary()
    crds = [arg for crd in trainer_crds() for arg in ("--crd", str(crd))]
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", "--manifests", str(golden), *crds])
    assert ok.exit_code == 0, ok.output
    assert f"{golden}: 16 valid, 0 invalid, 0 errors, 0 skipped" in ok.output
    broken = tmp_path / "out"
    shutil.copytree(golden, broken)
    job = broken / "trainjob-quickstart-ddp-mnist.yaml"
    job.write_text(
        job.read_text().replace("    numProcPerNode: 1\n", "    numProcPerNode: 1\n    ttl: 1\n")
    )
    bad = runner.invoke(app, ["validate", "--manifests", str(broken), *crds])
    assert bad.exit_code == 1 and "15 valid, 1 invalid" in bad.output
    assert "trainjob-quickstart-ddp-mnist.yaml" in bad.output and "ttl" in bad.output
    # Without the Trainer CRDs a TrainJob has no schema: an error, never a silent pass.
    missing = runner.invoke(app, ["validate", "--manifests", str(golden)])
    assert missing.exit_code == 1 and "0 invalid, 5 errors" in missing.output


def test_kustomize_applies_every_runtime_before_any_trainjob() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")

    def kinds(directory: Path) -> list[str]:
        done = subprocess.run(
            [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return [d["kind"] for d in yaml.safe_load_all(done.stdout) if d]

    order = kinds(GOLDEN_TRAINJOB_DIR / "reference")
    last_runtime = max(i for i, k in enumerate(order) if k == "TrainingRuntime")
    assert order.index("TrainJob") > last_runtime
    assert order[-20:] == ["TrainJob"] * 20
    # The restated legacy order is kustomize's own for everything else.
    pytorch = kinds(GOLDEN_DIR / "reference")
    assert [k for k in order if k not in ("TrainJob", "TrainingRuntime")] == [
        k for k in pytorch if k != "PyTorchJob"
    ]


@pytest.mark.parametrize("name", EXAMPLES)
def test_trainjobs_keep_the_pytorchjobs_metadata(name: str) -> None:
    pytorchjobs = _by_kind(GOLDEN_DIR / name, "PyTorchJob")
    trainjobs = _by_kind(GOLDEN_TRAINJOB_DIR / name, "TrainJob")
    assert sorted(trainjobs) == sorted(pytorchjobs)
    for job_name, tj in trainjobs.items():
        pj = pytorchjobs[job_name]
        assert tj["metadata"] == pj["metadata"]
        suspended = pj["spec"]["runPolicy"].get("suspend", False)
        assert tj["spec"].get("suspend", False) == suspended
        if suspended:
            ssa = tj["metadata"]["annotations"][contract.ANNOTATION_FLUX_SSA]
            assert ssa == contract.FLUX_SSA_CREATE_ONLY
        assert "ttlSecondsAfterFinished" not in yaml.safe_dump(tj)
    if name == "reference":  # Kueue's label on the TrainJob, not its pods
        assert any(contract.LABEL_QUEUE in t["metadata"]["labels"] for t in trainjobs.values())


def _webhook_problems(trainjob: dict[str, Any], runtime: dict[str, Any]) -> list[str]:
    """The checks of Trainer v2.3.0's webhooks (pkg/webhooks, plugins/jobset, plugins/torch)."""
    problems = []
    rjobs = runtime["spec"]["template"]["spec"]["replicatedJobs"]
    containers: dict[str, set[str]] = {}
    for rjob in rjobs:
        pod = rjob["template"]["spec"]["template"]["spec"]
        names = {c["name"] for c in pod.get("containers", []) + pod.get("initContainers", [])}
        containers[rjob["name"]] = names
        labels = rjob["template"].get("metadata", {}).get("labels", {})
        if labels.get(contract.LABEL_TRAINJOB_ANCESTOR) == "trainer":
            if rjob.get("replicas", 1) != 1:
                problems.append(f"{rjob['name']}: replicas must be 1")
            if "node" not in {c["name"] for c in pod["containers"]}:
                problems.append(f"{rjob['name']}: no container node")
    if "torch" not in runtime["spec"]["mlPolicy"]:
        problems.append("mlPolicy.torch is missing")
    spec = trainjob["spec"]
    if len(spec.get("runtimePatches", [])) > 16:
        problems.append("more than 16 runtimePatches")
    for patch in spec.get("runtimePatches", []):
        if not _DOMAIN_PREFIXED.fullmatch(patch["manager"]):
            problems.append(f"manager {patch['manager']} is not a domain-prefixed path")
        for rjob in patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]:
            if rjob["name"] not in containers:
                problems.append(f"patch of replicated job {rjob['name']} not in the runtime")
                continue
            pod = rjob["template"]["spec"]["template"]["spec"]
            for c in pod.get("containers", []) + pod.get("initContainers", []):
                if c["name"] not in containers[rjob["name"]]:
                    problems.append(f"patch of container {c['name']} not in {rjob['name']}")
                if c.get("env") and c["name"] in RESERVED_CONTAINERS:
                    problems.append(f"patch sets env of container {c['name']}")
    reserved = {e["name"] for e in spec["trainer"].get("env", [])} & set(contract.TORCH_RUNTIME_ENV)
    if reserved:
        problems.append(f"trainer.env sets {sorted(reserved)}")
    return problems


@pytest.mark.parametrize("name", EXAMPLES)
def test_trainjobs_and_runtimes_pass_the_trainer_webhooks(name: str) -> None:
    runtimes = _by_kind(GOLDEN_TRAINJOB_DIR / name, "TrainingRuntime")
    used = set()
    for tj in _by_kind(GOLDEN_TRAINJOB_DIR / name, "TrainJob").values():
        ref = tj["spec"]["runtimeRef"]
        assert (ref["apiGroup"], ref["kind"]) == (contract.TRAINER_GROUP, "TrainingRuntime")
        assert _webhook_problems(tj, runtimes[ref["name"]]) == []
        used.add(ref["name"])
    assert used == set(runtimes)  # no runtime without a TrainJob


def test_webhook_check_catches_env_on_node_and_pet_names() -> None:
    """The check above can fail."""
    directory = GOLDEN_TRAINJOB_DIR / "quickstart"
    tj = copy.deepcopy(_by_kind(directory, "TrainJob")["quickstart-ddp-mnist"])
    runtime = _by_kind(directory, "TrainingRuntime")[tj["spec"]["runtimeRef"]["name"]]
    tj["spec"]["trainer"]["env"].append({"name": "PET_NNODES", "value": "2"})
    node = tj["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]
    node["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "X", "value": "1"}
    ]
    assert _webhook_problems(tj, runtime) == [
        "patch sets env of container node",
        "trainer.env sets ['PET_NNODES']",
    ]


# What differs between a PyTorchJob pod and the same job's TrainJob pod, on purpose.
def _comparable(pod: dict[str, Any], container_name: str) -> dict[str, Any]:
    pod = copy.deepcopy(pod)
    spec = pod["spec"]
    spec.pop("restartPolicy", None)  # per replica in a PyTorchJob; Never + podFailurePolicy
    (container,) = [c for c in spec["containers"] if c["name"] == container_name]
    assert len(spec["containers"]) == 1
    container["name"] = "trainer"  # pytorch (the operator's) / node or worker (the Trainer's)
    container.pop("ports", None)  # pytorchjob-port 23456 / 29500 from the Torch plugin
    container["env"] = [
        e for e in container.get("env", []) if e["name"] not in contract.OPERATOR_ENV
    ]  # rendezvous env: the operator's, or the split layout's own (checked below)
    return pod


def _pods(name: str, job_name: str) -> tuple[dict[str, Any], list[ReplicatedJob]]:
    pj = _by_kind(GOLDEN_DIR / name, "PyTorchJob")[job_name]
    tj = _by_kind(GOLDEN_TRAINJOB_DIR / name, "TrainJob")[job_name]
    runtime = _by_kind(GOLDEN_TRAINJOB_DIR / name, "TrainingRuntime")
    return pj, replicated_jobs(tj, runtime[tj["spec"]["runtimeRef"]["name"]])


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_trainjob_pod_gets_what_the_pytorchjob_pod_gets(name: str) -> None:
    """The runtime merged with the TrainJob as the controller does, field by field."""
    split_seen = False
    for job_name in _by_kind(GOLDEN_DIR / name, "PyTorchJob"):
        pj, rjobs = _pods(name, job_name)
        replicas = pj["spec"]["pytorchReplicaSpecs"]
        workers = replicas.get("Worker", {}).get("replicas", 0)
        trainer = next(r for r in rjobs if r.trainer)
        others = [r for r in rjobs if not r.trainer]
        assert trainer.name == "node" and trainer.jobs == 1
        if workers:
            same = _placement(replicas["Master"]) == _placement(replicas["Worker"])
            assert bool(others) == (not same), job_name
        split_seen |= bool(others)
        assert trainer.pods + sum(r.jobs * r.pods for r in others) == 1 + workers
        roles = {"Master": (trainer, "node")}
        if workers:
            roles["Worker"] = (others[0], "worker") if others else (trainer, "node")
        for role, (rjob, container) in roles.items():
            expected = _comparable(replicas[role]["template"], contract.CONTAINER_NAME)
            assert _comparable(dict(rjob.pod), container) == expected, (job_name, role)
            assert rjob.pod["spec"]["restartPolicy"] == "Never"
        policy = trainer.job_spec
        backoff = pj["spec"]["runPolicy"]["backoffLimit"]
        never = replicas["Master"]["restartPolicy"] == "Never"
        assert policy["backoffLimit"] == (0 if never else backoff)
        if others:  # the split layout's rendezvous env: rank 0 = the server
            env = {e["name"]: e for e in next(iter(trainer.pod["spec"]["containers"]))["env"]}
            assert env["RANK"]["value"] == "0" and env["WORLD_SIZE"]["value"] == str(1 + workers)
            assert env["MASTER_ADDR"]["value"] == f"{job_name}-node-0-0.{job_name}"
            worker_env = {e["name"]: e for e in others[0].pod["spec"]["containers"][0]["env"]}
            field = worker_env["RANK"]["valueFrom"]["fieldRef"]["fieldPath"]
            assert field == f"metadata.labels['{contract.LABEL_JOB_GLOBAL_INDEX}']"
            assert others[0].jobs == workers and others[0].pods == 1
    assert split_seen == (name in SPLIT)


def _placement(replica: dict[str, Any]) -> tuple[Any, ...]:
    pod = replica["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    return (resources, pod["tolerations"], pod.get("nodeSelector"), pod.get("priorityClassName"))


def test_the_pod_comparison_catches_a_dropped_field() -> None:
    """The comparison above can fail: a toleration lost from the patch is noticed."""
    pj, rjobs = _pods("quickstart", "quickstart-ddp-mnist")
    pod = copy.deepcopy(dict(rjobs[0].pod))
    pod["spec"]["tolerations"] = []
    expected = _comparable(pj["spec"]["pytorchReplicaSpecs"]["Master"]["template"], "pytorch")
    assert _comparable(pod, "node") != expected


def test_strategic_merge_by_key_and_replace() -> None:
    base = {
        "containers": [{"name": "node", "image": "a", "env": [{"name": "X", "value": "1"}]}],
        "tolerations": [{"key": "a"}],
        "nodeSelector": {"zone": "1"},
    }
    Y = {"name": "Y", "value": "2"}
    patch = {
        "containers": [{"name": "node", "env": [Y]}, {"name": "side"}],
        "tolerations": [{"key": "b"}],
        "nodeSelector": {"disk": "ssd", "zone": None},
    }
    assert strategic_merge(base, patch) == {
        "containers": [
            {
                "name": "node",
                "image": "a",
                "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
            },
            {"name": "side"},
        ],
        "tolerations": [{"key": "b"}],
        "nodeSelector": {"disk": "ssd"},
    }


def _build(tmp_path: Path, text: str) -> dict[str, bytes]:
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return build_files(plan_file(path))


def test_a_named_runtime_emits_none_and_carries_everything_patchable(tmp_path: Path) -> None:
    text = (
        (EXAMPLES_DIR / "quickstart.yaml")
        .read_text()
        .replace(
            "  seed: 42\n",
            "  seed: 42\n  backend: trainjob\n"
            "  trainjob: {runtimeRef: {name: torch-distributed}}\n",
        )
    )
    files = _build(tmp_path, text)
    assert not [f for f in files if f.startswith("trainingruntime-")]
    tj = yaml.safe_load(files["trainjob-quickstart-ddp-mnist.yaml"])
    assert tj["spec"]["runtimeRef"] == {
        "apiGroup": "trainer.kubeflow.org",
        "kind": "ClusterTrainingRuntime",
        "name": "torch-distributed",
    }
    assert tj["spec"]["trainer"]["resourcesPerNode"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert tj["spec"]["trainer"]["image"] == contract.DEFAULT_IMAGE


def test_what_a_named_runtime_cannot_take_is_refused_with_its_place(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES_DIR / "traces", tmp_path / "traces")
    named = "  trainjob: {runtimeRef: {name: mine, kind: TrainingRuntime}}\n"
    text = (EXAMPLES_DIR / "reference.yaml").read_text()
    text = text.replace("  backend: pytorchjob ", "  backend: trainjob   ")
    with pytest.raises(CompileError) as info:
        _build(tmp_path, text.replace("  seed: 12345", named + "  seed: 12345"))
    where = str(tmp_path / "exp.yaml")
    messages = [line.split(": ", 1)[1] for line in info.value.lines()]
    assert all(line.startswith(where + ":") for line in info.value.lines())
    assert messages == [
        "spec.trainjob.runtimeRef: the TrainJobs cannot add the wait-data init container to a "
        "runtime the build does not emit; set spec.dataPrep.enabled: false (and prepare the "
        "data beforehand) or drop runtimeRef",
        "spec.tasks[0].replicas.master.profile: profile gpu-master sets priorityClassName, which "
        "a TrainJob cannot set on a runtime named by spec.trainjob.runtimeRef; set it in that "
        "runtime",
        "spec.tasks[0].replicas.workers.profile: master profile gpu-master and worker profile "
        "cpu-worker differ, but every node of a runtime named by spec.trainjob.runtimeRef gets "
        "one size; use one profile for master and workers, or drop runtimeRef",
    ]


def test_cli_backend_overrides_the_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    example = str(EXAMPLES_DIR / "quickstart.yaml")
    done = runner.invoke(app, ["build", example, "-o", str(out), "--backend", "trainjob"])
    assert done.exit_code == 0, done.output
    assert read_dir(out) == read_dir(GOLDEN_TRAINJOB_DIR / "quickstart")
    bad = runner.invoke(app, ["build", example, "-o", str(out), "--backend", "mpijob"])
    assert bad.exit_code == 2
    assert "--backend 'mpijob' is not one of pytorchjob, trainjob" in bad.output


def test_release_role_patches_trainjobs_only() -> None:
    role = _objects(GOLDEN_TRAINJOB_DIR / "quickstart")["role-quickstart-release.yaml"]
    assert role["rules"] == [
        {
            "apiGroups": ["trainer.kubeflow.org"],
            "resources": ["trainjobs"],
            "verbs": ["get", "list", "patch"],
        }
    ]
    job = _objects(GOLDEN_TRAINJOB_DIR / "quickstart")["job-quickstart-release.yaml"]
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[-2:] == ["--backend", "trainjob"]


def test_argocd_ignores_what_the_release_kueue_and_the_webhook_change() -> None:
    app_doc = _objects(GOLDEN_TRAINJOB_DIR / "reference")["argocd-application.yaml"]
    (ignore,) = app_doc["spec"]["ignoreDifferences"]
    assert (ignore["group"], ignore["kind"]) == ("trainer.kubeflow.org", "TrainJob")
    assert ignore["jsonPointers"] == [
        "/spec/suspend",
        "/metadata/labels/kueue.x-k8s.io~1queue-name",
    ]
    assert ".spec.runtimePatches[].time" in ignore["jqPathExpressions"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_kubectl_kustomize_renders_the_trainjob_golden(name: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    directory = GOLDEN_TRAINJOB_DIR / name
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    rendered = Counter(d["kind"] for d in yaml.safe_load_all(done.stdout) if d)
    listed = yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]
    expected = Counter(yaml.safe_load((directory / f).read_text())["kind"] for f in listed)
    assert rendered == expected and rendered["TrainJob"] > 0 and rendered["TrainingRuntime"] > 0
