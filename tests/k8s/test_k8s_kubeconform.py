"""check_manifests runs the real kubeconform: good manifests pass, bad ones are caught."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from k8s_tools import assert_valid_manifests, check, kubeconform_binary, schema_cache_dir

from fltkc.check.kubeconform import KUBECONFORM_INSTALL, ManifestToolError, check_manifests

PYTORCHJOB = """\
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: mnist-ddp
  labels: {app.kubernetes.io/name: fltk}
spec:
  nprocPerNode: "1"
  runPolicy: {cleanPodPolicy: Running, backoffLimit: 2}
  pytorchReplicaSpecs:
    Master:
      replicas: 1
      restartPolicy: OnFailure
      template:
        spec:
          tolerations:
            - {key: fltk.node, operator: Equal, value: normal, effect: NoSchedule}
          containers:
            - name: pytorch
              image: ghcr.io/fltkc/trainer:0.1.0
              resources:
                requests: {cpu: 500m, memory: 1Gi}
                limits: {cpu: 1, memory: 1Gi}
    Worker:
      replicas: 2
      restartPolicy: OnFailure
      template:
        spec:
          containers:
            - name: pytorch
              image: ghcr.io/fltkc/trainer:0.1.0
"""

PVC = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: fltk-logs}
spec:
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 2Gi}}
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: mnist-ddp-config}
data: {config.json: "{}"}
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [job.yaml, pvc.yaml, configmap.yaml]
"""


def write(directory: Path, **files: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for stem, text in files.items():
        (directory / f"{stem}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


def test_good_manifests_pass_and_kustomization_is_skipped(tmp_path: Path) -> None:
    out = write(tmp_path, job=PYTORCHJOB, pvc=PVC, configmap=CONFIGMAP, kustomization=KUSTOMIZATION)
    report = assert_valid_manifests(out, expected_valid=3)
    assert report.skipped == 1
    assert report.ok and report.messages == ()


def test_unknown_replica_field_fails_under_strict(tmp_path: Path) -> None:
    job = PYTORCHJOB.replace("      replicas: 1\n", "      replicaz: 1\n")
    report = check(write(tmp_path, job=job, pvc=PVC))
    assert (report.valid, report.invalid, report.errors) == (1, 1, 0)
    assert not report.ok
    [message] = report.messages
    assert "PyTorchJob mnist-ddp: invalid" in message
    assert "/spec/pytorchReplicaSpecs/Master" in message and "'replicaz'" in message


def test_unknown_container_field_fails(tmp_path: Path) -> None:
    job = PYTORCHJOB.replace(
        "              image: ghcr.io", "              imagee: x\n              image: ghcr.io", 1
    )
    report = check(write(tmp_path, job=job))
    assert (report.valid, report.invalid, report.errors) == (0, 1, 0)
    assert "'imagee'" in report.messages[0]


def test_wrong_type_fails(tmp_path: Path) -> None:
    job = PYTORCHJOB.replace("      replicas: 2\n", '      replicas: "one"\n')
    report = check(write(tmp_path, job=job))
    assert (report.valid, report.invalid, report.errors) == (0, 1, 0)
    assert "/spec/pytorchReplicaSpecs/Worker/replicas" in report.messages[0]
    assert "want integer" in report.messages[0]


def test_pvc_with_bad_field_fails(tmp_path: Path) -> None:
    pvc = PVC.replace("accessModes:", "accessModez:")
    report = check(write(tmp_path, pvc=pvc, configmap=CONFIGMAP))
    assert (report.valid, report.invalid, report.errors) == (1, 1, 0)
    assert "PersistentVolumeClaim fltk-logs" in report.messages[0]
    assert "'accessModez'" in report.messages[0]


def test_kind_without_schema_is_an_error(tmp_path: Path) -> None:
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    report = check(write(tmp_path, widget=widget, pvc=PVC))
    assert (report.valid, report.invalid, report.errors, report.skipped) == (1, 0, 1, 0)
    assert "could not find schema for Widget" in report.messages[0]


def test_pytorchjob_without_its_crd_is_an_error(tmp_path: Path) -> None:
    report = check(write(tmp_path, job=PYTORCHJOB, pvc=PVC), crds=())
    assert (report.valid, report.invalid, report.errors) == (1, 0, 1)


def test_unparsable_yaml_is_an_error(tmp_path: Path) -> None:
    report = check(write(tmp_path, broken="kind: [ConfigMap\n", pvc=PVC))
    assert (report.valid, report.errors) == (1, 1)


def test_missing_kubeconform_names_the_install_command(tmp_path: Path) -> None:
    write(tmp_path, pvc=PVC)
    with pytest.raises(ManifestToolError, match="go install github.com/yannh/kubeconform"):
        check_manifests(tmp_path, kubeconform=str(tmp_path / "no-kubeconform"))
    assert "@v0.7.0" in KUBECONFORM_INSTALL


def test_unsupported_kubernetes_version_lists_the_supported_ones(tmp_path: Path) -> None:
    write(tmp_path, pvc=PVC)
    with pytest.raises(ManifestToolError, match=r"1\.33") as caught:
        check_manifests(
            tmp_path,
            kubeconform=kubeconform_binary(),
            kubernetes_version="1.9",
            cache_dir=schema_cache_dir(),
        )
    assert "'1.9'" in str(caught.value)


def test_missing_folder_and_non_crd_file_are_tool_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestToolError, match="no such folder"):
        check_manifests(tmp_path / "absent", kubeconform=kubeconform_binary())
    out = write(tmp_path / "out", pvc=PVC)
    with pytest.raises(ManifestToolError, match="holds no CustomResourceDefinition"):
        check(out, crds=[out / "pvc.yaml"])
