"""One control plane (etcd, API server, controllers, kwok nodes, operators, Kueue) per session."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest's default (prepend) import mode puts only this folder on sys.path for these modules.
for folder in (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from cluster_support import COMPLETE_AFTER, Kube  # noqa: E402
from k8s_tools import unavailable  # noqa: E402


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kube]:
    """The running control plane; a skip naming the build command where binaries are missing.

    Under CI (env CI set) a missing binary is a failure: the README's test command builds them.
    """
    from fltkc.cluster import build, controlplane

    missing = build.missing()
    if missing:
        unavailable(
            f"control-plane binaries {', '.join(c.key for c in missing)} are not in "
            f"{build.cache_root()}; build them with: python -m fltkc.cluster build"
        )
    plane = controlplane.start(
        tmp_path_factory.mktemp("controlplane"), complete_after=COMPLETE_AFTER
    )
    try:
        yield Kube(plane.kubeconfig, plane.server)
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the hostPath PersistentVolumes of the tests point (nothing writes there)."""
    return tmp_path_factory.mktemp("volumes")
