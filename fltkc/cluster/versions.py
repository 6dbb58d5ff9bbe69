"""Pinned Go modules of the local control plane: what is built, from where, and how."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import Literal

# How a component is built: "module" copies the module out of the read-only module cache and
# runs `go build` inside it (its own go.mod and go.sum apply); "kubernetes" and "etcd" build
# through a small wrapper module, because k8s.io/kubernetes points its k8s.io/* modules at a
# ./staging folder its module zip lacks, and etcd's server module replaces its siblings with
# ../ paths that only exist in etcd's repository; "flux" builds our own main (fluxapply/) against
# Flux's apply engine.
Recipe = Literal["module", "kubernetes", "etcd", "flux"]

# Bump when the way binaries or manifests are produced changes: it is part of the cache key.
RECIPE_REVISION = 1


@dataclass(frozen=True)
class Component:
    name: str
    module: str
    version: str
    recipe: Recipe
    # binary name -> package path inside the module ("." for the module root)
    binaries: tuple[tuple[str, str], ...]
    # kustomize directories (inside the module) rendered into manifests/<file>.yaml at build time
    manifests: tuple[tuple[str, str], ...] = ()
    # our own Go main in this package, for the "flux" recipe
    main: str | None = None

    @property
    def key(self) -> str:
        """The cache folder name: a new version, recipe or main gets a new folder."""
        key = f"{self.name}-{self.version}-r{RECIPE_REVISION}"
        if self.main:
            key += "-" + hashlib.sha256(self.main_source().encode()).hexdigest()[:8]
        return key

    def main_source(self) -> str:
        assert self.main is not None
        return resources.files("fltkc.cluster").joinpath(self.main).read_text()


KUBERNETES = Component(
    "kubernetes",
    "k8s.io/kubernetes",
    "v1.34.4",
    "kubernetes",
    (
        ("kube-apiserver", "cmd/kube-apiserver"),
        ("kube-controller-manager", "cmd/kube-controller-manager"),
        ("kube-scheduler", "cmd/kube-scheduler"),
    ),
)
ETCD = Component("etcd", "go.etcd.io/etcd/server/v3", "v3.6.17", "etcd", (("etcd", "etcdmain"),))
KWOK = Component("kwok", "sigs.k8s.io/kwok", "v0.8.0", "module", (("kwok", "cmd/kwok"),))
TRAINING_OPERATOR = Component(
    "training-operator",
    "github.com/kubeflow/training-operator",
    "v1.9.4",
    "module",
    (("training-operator", "cmd/training-operator.v1"),),
    (("crds", "manifests/base/crds"), ("webhooks", "manifests/base/webhook")),
)
TRAINER = Component(
    "trainer",
    "github.com/kubeflow/trainer/v2",
    "v2.3.0",
    "module",
    (("trainer-controller-manager", "cmd/trainer-controller-manager"),),
    (("crds", "manifests/base/crds"), ("webhooks", "manifests/base/webhook")),
)
# Trainer v2.3.0's go.mod pairs it with JobSet v0.12.0.
JOBSET = Component(
    "jobset",
    "sigs.k8s.io/jobset",
    "v0.12.0",
    "module",
    (("jobset", "."),),
    (("crds", "config/components/crd"), ("webhooks", "config/components/webhook")),
)
KUEUE = Component(
    "kueue",
    "sigs.k8s.io/kueue",
    "v0.19.0",
    "module",
    (("kueue", "cmd/kueue"),),
    (("crds", "config/components/crd"), ("webhooks", "config/components/webhook")),
)

# Not part of the cluster: re-applies a built out/ exactly as Flux does (the GitOps tests).
FLUX_APPLY = Component(
    "flux-apply",
    "github.com/fluxcd/pkg/ssa",
    "v0.78.0",
    "flux",
    (("flux-apply", "."),),
    main="fluxapply/main.go",
)

COMPONENTS = (ETCD, KUBERNETES, KWOK, TRAINING_OPERATOR, JOBSET, TRAINER, KUEUE, FLUX_APPLY)


def kubernetes_staging_version(version: str = KUBERNETES.version) -> str:
    """The published k8s.io/* staging modules carry v0.<minor>.<patch> of a v1 release."""
    return "v0." + version.split(".", 1)[1]
