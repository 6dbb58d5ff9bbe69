"""Every golden directory passes the real kubeconform -strict with the real PyTorchJob CRD."""

from __future__ import annotations

from pathlib import Path

import pytest
from compiler_support import EXAMPLES, GOLDEN_DIR
from k8s_tools import assert_valid_manifests, kubeconform_binary, pytorchjob_crd
from typer.testing import CliRunner

from fltkc.check.kustomization import resources_only
from fltkc.cli import app

# PersistentVolumeClaims + ConfigMaps (one per job and the schedule) + PyTorchJobs
# + the data-preparation Job + the release Job, ServiceAccount, Role and RoleBinding
# + reference only: ResourceFlavor, ClusterQueue, LocalQueue, Deployment, Service and the Argo CD
# Application (outside the kustomization; `fltkc validate --manifests` checks it too).
RELEASE = 4
EXPECTED_VALID = {
    "distributed-cifar10-resnet": 1 + 2 + 1 + 1,
    "federated-mnist-dirichlet": 2 + 7 + 6 + 1 + RELEASE,
    "federated-stragglers": 2 + 4 + 3,
    "mixture": 2 + 9 + 8 + RELEASE + 3 + 2,  # + a PriorityClass and a WorkloadPriorityClass
    "model-cifar10-cnn": 2 + 2 + 1,
    "model-cifar10-resnet": 2 + 2 + 1,
    "model-cifar100-resnet": 2 + 2 + 1,
    "model-cifar100-vgg": 2 + 2 + 1,
    "model-fashion-mnist-cnn": 2 + 2 + 1,
    "model-fashion-mnist-resnet": 2 + 2 + 1,
    "model-reddit-lstm": 2 + 2 + 1,
    "quickstart": 2 + 5 + 4 + RELEASE,
    "reference": 1 + 22 + 21 + 1 + RELEASE + 3 + 2 + 1,
    "sweep-fedprox": 2 + 13 + 12,
}


def test_every_example_has_an_expected_count() -> None:
    assert sorted(EXPECTED_VALID) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_golden_passes_kubeconform_strict(name: str) -> None:
    with resources_only(GOLDEN_DIR / name) as listed:
        assert_valid_manifests(listed, EXPECTED_VALID[name])


def test_kubeconform_catches_a_broken_job(tmp_path: Path) -> None:
    """The check above can fail: an unknown field in a PyTorchJob is an error under -strict."""
    golden = GOLDEN_DIR / "quickstart"
    out = tmp_path / "out"
    out.mkdir()
    for file in golden.iterdir():
        text = file.read_text()
        if file.name == "pytorchjob-quickstart-ddp-mnist.yaml":
            text = text.replace('  nprocPerNode: "1"\n', '  nprocPerNode: "1"\n  ttlAfter: 1\n')
        (out / file.name).write_text(text)
    runner = CliRunner()
    crd = str(pytorchjob_crd())
    kubeconform_binary()
    ok = runner.invoke(app, ["validate", "--manifests", str(golden), "--crd", crd])
    assert ok.exit_code == 0, ok.output
    assert f"{golden}: 15 valid, 0 invalid, 0 errors, 0 skipped" in ok.output
    bad = runner.invoke(app, ["validate", "--manifests", str(out), "--crd", crd])
    assert bad.exit_code == 1
    assert "14 valid, 1 invalid" in bad.output
    assert "pytorchjob-quickstart-ddp-mnist.yaml" in bad.output and "ttlAfter" in bad.output
