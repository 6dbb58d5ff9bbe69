"""The committed Kueue CRDs (tests/k8s/crds) validate Kueue objects for real."""

from __future__ import annotations

from pathlib import Path

from k8s_tools import EXTRA_CRD_DIR, assert_valid_manifests, check

KUEUE = """\
apiVersion: kueue.x-k8s.io/v1beta2
kind: ResourceFlavor
metadata: {name: normal}
spec:
  nodeLabels: {fltk.node: normal}
  tolerations:
    - {key: fltk.node, operator: Equal, value: normal, effect: NoSchedule}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: ClusterQueue
metadata: {name: fltk}
spec:
  namespaceSelector: {}
  COHORT
  resourceGroups:
    - coveredResources: [cpu, memory]
      flavors:
        - name: normal
          resources:
            - {name: cpu, nominalQuota: 8}
            - {name: memory, nominalQuota: 16Gi}
---
apiVersion: kueue.x-k8s.io/v1beta2
kind: LocalQueue
metadata: {name: fltk, namespace: research}
spec: {clusterQueue: fltk}
"""


def write(tmp_path: Path, cohort_line: str) -> Path:
    (tmp_path / "kueue.yaml").write_text(KUEUE.replace("COHORT", cohort_line), encoding="utf-8")
    return tmp_path


def test_kueue_crds_are_committed() -> None:
    names = sorted(path.name for path in EXTRA_CRD_DIR.glob("kueue*.yaml"))
    assert names == [
        "kueue.x-k8s.io_clusterqueues.yaml",
        "kueue.x-k8s.io_localqueues.yaml",
        "kueue.x-k8s.io_resourceflavors.yaml",
        "kueue.x-k8s.io_workloadpriorityclasses.yaml",
    ]


def test_v1beta2_queue_setup_is_valid(tmp_path: Path) -> None:
    assert_valid_manifests(write(tmp_path, "cohortName: lab"), expected_valid=3)


def test_v1beta1_field_name_is_rejected_in_v1beta2(tmp_path: Path) -> None:
    # v1beta2 renamed ClusterQueue spec.cohort to spec.cohortName.
    report = check(write(tmp_path, "cohort: lab"))
    assert (report.valid, report.invalid, report.errors) == (2, 1, 0)
    assert "ClusterQueue fltk" in report.messages[0] and "'cohort'" in report.messages[0]


def test_the_workload_priority_class_crd_checks_its_objects(tmp_path: Path) -> None:
    good = "apiVersion: kueue.x-k8s.io/v1beta1\nkind: WorkloadPriorityClass\n"
    good += "metadata: {name: high}\nvalue: 1000\ndescription: interactive\n"
    (tmp_path / "wpc.yaml").write_text(good, encoding="utf-8")
    assert_valid_manifests(tmp_path, expected_valid=1)
    # The value is a top-level integer, not a spec field.
    bad = good.replace("value: 1000\n", "spec: {value: 1000}\n")
    (tmp_path / "wpc.yaml").write_text(bad, encoding="utf-8")
    report = check(tmp_path)
    assert (report.valid, report.invalid) == (0, 1)
