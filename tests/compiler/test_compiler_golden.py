"""Each example's out/ matches its committed golden byte for byte, and the goldens are sound."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from compiler_support import EXAMPLES, GOLDEN_DIR, GOLDEN_DIRS, build_example, read_dir
from jsonschema import Draft202012Validator

from fltkc import contract
from fltkc.check.kustomization import UNLISTED_MANIFESTS
from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema

REGEN = "python -m tests.compiler.regen"


def _objects(name: str) -> dict[str, Any]:
    files = read_dir(GOLDEN_DIR / name)
    return {
        n: yaml.safe_load(b)
        for n, b in files.items()
        if n.endswith(".yaml") and n != "kustomization.yaml"
    }


@pytest.mark.parametrize("job_backend", sorted(GOLDEN_DIRS))
@pytest.mark.parametrize("name", EXAMPLES)
def test_build_matches_golden(name: str, job_backend: str) -> None:
    golden = GOLDEN_DIRS[job_backend] / name
    assert golden.is_dir(), f"no golden for examples/{name}.yaml; create it with {REGEN} {name}"
    built, expected = build_example(name, job_backend=job_backend), read_dir(golden)
    assert sorted(built) == sorted(expected), f"file list differs; if intended: {REGEN} {name}"
    for file_name, content in built.items():
        assert content == expected[file_name], f"{name}/{file_name} differs; if intended: {REGEN}"


@pytest.mark.parametrize("name", EXAMPLES)
def test_kustomization_lists_every_manifest(name: str) -> None:
    files = read_dir(GOLDEN_DIR / name)
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    unlisted = {"kustomization.yaml", *UNLISTED_MANIFESTS}
    manifests = sorted(n for n in files if n.endswith(".yaml") and n not in unlisted)
    assert kustomization["resources"] == manifests


@pytest.mark.parametrize("name", EXAMPLES)
def test_kubectl_kustomize_renders_golden(name: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH")
    done = subprocess.run(
        [kubectl, "kustomize", str(GOLDEN_DIR / name)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    rendered = [d for d in yaml.safe_load_all(done.stdout) if d]
    listed = {n: o for n, o in _objects(name).items() if n not in UNLISTED_MANIFESTS}
    assert Counter(d["kind"] for d in rendered) == Counter(o["kind"] for o in listed.values())
    # The Argo CD Application must stay out: syncing the directory must not manage it.
    assert "Application" not in {d["kind"] for d in rendered}


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_config_validates_against_trainer_schema(name: str) -> None:
    validator = Draft202012Validator(load_schema(TRAINER_CONFIG_SCHEMA))
    jobs = {o["metadata"]["name"]: o for o in _objects(name).values() if o["kind"] == "PyTorchJob"}
    configs = 0
    for obj in _objects(name).values():
        if obj["kind"] != "ConfigMap" or contract.CONFIG_KEY not in obj["data"]:
            continue
        config = json.loads(obj["data"][contract.CONFIG_KEY])
        errors = [e.message for e in validator.iter_errors(config)]
        assert errors == [], f"{obj['metadata']['name']}: {errors}"
        job = jobs[config["job"]["name"]]
        env = {e["name"]: e["value"] for e in _container(job, "Master")["env"]}
        assert env[contract.ENV_SEED] == str(config["seed"])
        configs += 1
    assert configs == len(jobs) > 0


def _container(job: dict[str, Any], role: str) -> dict[str, Any]:
    containers = job["spec"]["pytorchReplicaSpecs"][role]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == [contract.CONTAINER_NAME]
    return containers[0]


@pytest.mark.parametrize("name", EXAMPLES)
def test_pytorchjobs_meet_operator_requirements(name: str) -> None:
    for obj in _objects(name).values():
        if obj["kind"] != "PyTorchJob":
            continue
        job_name, spec = obj["metadata"]["name"], obj["spec"]
        replicas = spec["pytorchReplicaSpecs"]
        assert replicas["Master"]["replicas"] == 1
        assert set(replicas) <= {"Master", "Worker"}
        workers = replicas.get("Worker", {}).get("replicas", 0)
        assert "Worker" not in replicas or workers >= 1
        assert len(f"{job_name}-worker-{max(workers - 1, 0)}") <= 63
        assert spec["nprocPerNode"] == "1"
        assert spec["runPolicy"]["cleanPodPolicy"] == "Running"
        assert "ttlSecondsAfterFinished" not in spec["runPolicy"]
        assert contract.ANNOTATION_ARRIVAL in obj["metadata"]["annotations"]
        for key in (contract.LABEL_EXPERIMENT, contract.LABEL_TASK, contract.LABEL_JOB):
            assert key in obj["metadata"]["labels"]
        for role in replicas:
            container = _container(obj, role)
            assert container["command"] == list(contract.TRAINER_COMMAND)
            env = {e["name"] for e in container["env"]}
            assert set(contract.COMPILER_ENV) <= env
            assert [p["name"] for p in container["ports"]] == [contract.PORT_NAME]


def _restricted_violations(pod: dict[str, Any]) -> list[str]:
    """The Pod Security Standard "restricted" rules a pod spec breaks (policy v1.30)."""
    problems = []
    pod_sc = pod.get("securityContext", {})
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = {**pod_sc, **c.get("securityContext", {})}
        if sc.get("runAsNonRoot") is not True:
            problems.append("runAsNonRoot")
        if sc.get("runAsUser") == 0:
            problems.append("runAsUser 0")
        if c.get("securityContext", {}).get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation")
        if c.get("securityContext", {}).get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append("capabilities.drop ALL")
        if sc.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append("seccompProfile")
        if c.get("securityContext", {}).get("privileged"):
            problems.append("privileged")
    for v in pod.get("volumes", []):
        if not ({"configMap", "persistentVolumeClaim", "emptyDir", "secret"} & set(v)):
            problems.append(f"volume type {sorted(v)}")
    return problems


def _pod_templates(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every pod template of an object (replica role, or the kind for Jobs and Deployments)."""
    if obj["kind"] == "PyTorchJob":
        replicas = obj["spec"]["pytorchReplicaSpecs"]
        return {role: r["template"]["spec"] for role, r in replicas.items()}
    if obj["kind"] in ("Job", "Deployment"):
        return {obj["kind"]: obj["spec"]["template"]["spec"]}
    return {}


@pytest.mark.parametrize("name", EXAMPLES)
def test_pods_meet_restricted_pod_security(name: str) -> None:
    """Training pods with their wait-data init containers, release, dataprep and TensorBoard."""
    kinds: Counter[str] = Counter()
    for file, obj in _objects(name).items():
        for role, pod in _pod_templates(obj).items():
            assert _restricted_violations(pod) == [], f"{file} {role}"
            kinds[obj["kind"]] += 1
            kinds["initContainers"] += len(pod.get("initContainers", []))
    assert kinds["PyTorchJob"] > 0
    if name == "reference":  # every kind of helper pod is checked somewhere
        assert kinds["Job"] == 2 and kinds["Deployment"] == 1 and kinds["initContainers"] > 0


def test_restricted_check_catches_a_baseline_pod(tmp_path: Path) -> None:
    """The check above can fail: a baseline build breaks it."""
    from compiler_support import EXAMPLES_DIR

    from fltkc.compile.build import build_files, plan_file

    text = (EXAMPLES_DIR / "quickstart.yaml").read_text()
    text = text.replace("  seed: 42\n", "  seed: 42\n  security: {podSecurity: baseline}\n")
    (tmp_path / "exp.yaml").write_text(text)
    files = build_files(plan_file(tmp_path / "exp.yaml"))
    job = yaml.safe_load(files["pytorchjob-quickstart-ddp-mnist.yaml"])
    pod = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    assert "runAsNonRoot" in _restricted_violations(pod)
