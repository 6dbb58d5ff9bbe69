"""Test helpers that validate manifests with the real kubeconform and the real CRDs."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest

from fltkc.check.core_schemas import ManifestToolError
from fltkc.check.kubeconform import ManifestReport, check_manifests, find_kubeconform

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PYTORCHJOB_CRD = SHARED / "crds" / "kubeflow.org_pytorchjobs.yaml"
# Kubeflow Trainer v2.3.0's CRDs, byte for byte from the tag (manifests/base/crds/).
TRAINER_CRD_DIR = SHARED / "crds" / "trainer-v2.3.0"
TRAINER_CRDS = tuple(
    TRAINER_CRD_DIR / f"trainer.kubeflow.org_{plural}.yaml"
    for plural in ("trainjobs", "trainingruntimes", "clustertrainingruntimes")
)
# CRDs fetched for later features (Argo CD, Kueue); see crds/SOURCE.md beside them.
EXTRA_CRD_DIR = Path(__file__).resolve().parent / "k8s" / "crds"


def unavailable(reason: str) -> None:
    """Skip locally, but fail in CI (env CI set), where every prerequisite must be present."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def pytorchjob_crd() -> Path:
    """The real PyTorchJob CRD from ../shared."""
    if not PYTORCHJOB_CRD.is_file():
        unavailable(f"../shared/crds/{PYTORCHJOB_CRD.name} is absent: ../shared is not checked out")
    return PYTORCHJOB_CRD


def trainer_crds() -> tuple[Path, ...]:
    """The real Trainer v2.3.0 CRDs (TrainJob, TrainingRuntime, ClusterTrainingRuntime)."""
    for crd in TRAINER_CRDS:
        if not crd.is_file():
            unavailable(f"../shared/crds/trainer-v2.3.0/{crd.name} is absent")
    return TRAINER_CRDS


def extra_crds() -> tuple[Path, ...]:
    """The CRDs committed under tests/k8s/crds (may be none)."""
    return tuple(sorted(EXTRA_CRD_DIR.glob("*.yaml")))


def kubeconform_binary() -> str:
    """The kubeconform binary the tests run, or a skip (a failure in CI) naming the install."""
    try:
        return find_kubeconform()
    except ManifestToolError as exc:
        unavailable(str(exc))
        raise


@cache
def schema_cache_dir() -> Path:
    """One schema cache per test process, so each schema is generated once per session.

    Helpers called without fixtures cannot reach pytest's tmp_path_factory, so this is a
    temporary folder of its own, removed when the process ends.
    """
    path = Path(tempfile.mkdtemp(prefix="fltkc-k8s-schemas-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def check(directory: Path, crds: Sequence[Path] | None = None) -> ManifestReport:
    """check_manifests with the session cache; `crds` defaults to PyTorchJob plus tests/k8s/crds."""
    if crds is None:
        crds = (pytorchjob_crd(), *extra_crds())
    return check_manifests(
        directory, crds=crds, kubeconform=kubeconform_binary(), cache_dir=schema_cache_dir()
    )


def assert_valid_manifests(
    directory: Path, expected_valid: int, crds: Sequence[Path] | None = None
) -> ManifestReport:
    """Assert exactly `expected_valid` resources pass kubeconform -strict and none fail."""
    report = check(directory, crds)
    details = "\n".join(report.messages)
    assert (report.invalid, report.errors) == (0, 0), f"kubeconform found problems:\n{details}"
    assert report.valid == expected_valid, (
        f"kubeconform validated {report.valid} resources, expected {expected_valid}"
    )
    return report
