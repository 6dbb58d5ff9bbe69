"""What a fresh control plane gets: operator CRDs and webhooks, namespaces, nodes, volumes."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from fltkc.cluster import build
from fltkc.cluster.pki import Pki, webhook_secret_data
from fltkc.cluster.versions import JOBSET, KUEUE, TRAINER, TRAINING_OPERATOR, Component

Obj = dict[str, Any]

# The taint and GPU resource the compiler's defaults expect on experiment nodes (README).
TAINT = {"key": "fltk.node", "value": "normal", "effect": "NoSchedule"}
GPU = "nvidia.com/gpu"
NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")  # what kwok's node selector manages
NODES: tuple[tuple[str, Mapping[str, str], Mapping[str, str], bool], ...] = (
    # name, labels, capacity, tainted
    (
        "gpu-node-0",
        {"accelerator": "nvidia-a100"},
        {"cpu": "64", "memory": "256Gi", "pods": "110", GPU: "8", "ephemeral-storage": "1Ti"},
        True,
    ),
    (
        "cpu-node-0",
        {},
        {"cpu": "64", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti"},
        False,
    ),
)

# Namespaces the operators run "in": their cert rotators and defaults look there.
OPERATOR_NAMESPACES = ("kubeflow", "kubeflow-system", "jobset-system", "kueue-system")
# Webhook Secrets pre-created for the operators whose cert rotator cannot be switched off.
WEBHOOK_SECRETS = {
    TRAINING_OPERATOR.name: ("kubeflow", "training-operator-webhook-cert"),
    KUEUE.name: ("kueue-system", "kueue-webhook-server-cert"),
}
# Webhook configuration names as each operator's kustomize overlay prefixes them; the cert
# rotators look them up by these names to inject the CA.
NAME_PREFIX = {JOBSET.name: "jobset-", KUEUE.name: "kueue-"}
# Resources whose webhooks are installed; others (pods, deployments, ... for Kueue integrations
# that are off) would route every such object through a webhook that does not serve it.
WEBHOOK_RESOURCES = {
    TRAINING_OPERATOR.name: {("kubeflow.org", "pytorchjobs")},
    KUEUE.name: {("kubeflow.org", "pytorchjobs"), ("trainer.kubeflow.org", "trainjobs")},
}
CRD_NAMES = {TRAINING_OPERATOR.name: {"pytorchjobs.kubeflow.org"}}
OPERATORS = (TRAINING_OPERATOR, JOBSET, TRAINER, KUEUE)


def documents(path: Path) -> list[Obj]:
    """The objects of a rendered manifest file (JSON, see build._render_manifests)."""
    objects: list[Obj] = json.loads(path.read_text())
    return objects


def _url_config(client_config: Obj, port: int, ca_bundle: str) -> Obj:
    """Point a clientConfig at the operator on loopback instead of its in-cluster Service."""
    path = (client_config.get("service") or {}).get("path", "")
    return {"url": f"https://127.0.0.1:{port}{path}", "caBundle": ca_bundle}


def crds(ports: Mapping[str, int], ca_bundle: str) -> list[Obj]:
    """Every operator's CRDs; conversion webhooks (Kueue's v1beta1 <-> v1beta2) rewired."""
    out = []
    for component in OPERATORS:
        for crd in documents(build.manifests_dir(component) / "crds.json"):
            wanted = CRD_NAMES.get(component.name)
            if wanted is not None and crd["metadata"]["name"] not in wanted:
                continue
            webhook = ((crd["spec"].get("conversion") or {}).get("webhook")) or {}
            if "clientConfig" in webhook:
                webhook["clientConfig"] = _url_config(
                    webhook["clientConfig"], ports[component.name], ca_bundle
                )
            out.append(crd)
    return out


def _served(component: Component, webhook: Obj) -> bool:
    allowed = WEBHOOK_RESOURCES.get(component.name)
    if allowed is None:
        return True
    for rule in webhook.get("rules", []):
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                if group != "kueue.x-k8s.io" and (group, resource) not in allowed:
                    return False
    return True


def webhook_configurations(ports: Mapping[str, int], ca_bundle: str) -> list[Obj]:
    """Each operator's webhook configurations as its manifests define them, served on loopback."""
    out = []
    for component in OPERATORS:
        for config in documents(build.manifests_dir(component) / "webhooks.json"):
            if not config["kind"].endswith("WebhookConfiguration"):
                continue  # the Service the webhooks would go through in a cluster
            config["metadata"]["name"] = (
                NAME_PREFIX.get(component.name, "") + config["metadata"]["name"]
            )
            hooks = [w for w in config.get("webhooks", []) if _served(component, w)]
            for hook in hooks:
                hook["clientConfig"] = _url_config(
                    hook["clientConfig"], ports[component.name], ca_bundle
                )
            config["webhooks"] = hooks
            out.append(config)
    return out


def namespaces_and_secrets(pki: Pki) -> list[Obj]:
    out: list[Obj] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
        for n in OPERATOR_NAMESPACES
    ]
    data = webhook_secret_data(pki)
    for namespace, name in WEBHOOK_SECRETS.values():
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "Opaque",
                "metadata": {"name": name, "namespace": namespace},
                "stringData": data,
            }
        )
    return out


def nodes() -> list[Obj]:
    """The fake nodes kwok keeps Ready: one tainted with GPUs, one plain."""
    out = []
    for name, labels, capacity, tainted in NODES:
        meta_labels = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kwok",
            **labels,
        }
        node: Obj = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": meta_labels,
                "annotations": {NODE_ANNOTATION[0]: NODE_ANNOTATION[1]},
            },
            "spec": {"taints": [TAINT]} if tainted else {},
            "status": {"capacity": dict(capacity), "allocatable": dict(capacity)},
        }
        out.append(node)
    return out


def ca_bundle(pki: Pki) -> str:
    return base64.b64encode(pki.webhook_ca.read_bytes()).decode()


def dump(objects: list[Obj], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return path


def host_path_volumes(claims: list[Obj], folder: Path, prefix: str) -> list[Obj]:
    """One hostPath PersistentVolume per claim, pre-bound to it (there is no provisioner)."""
    out = []
    for claim in claims:
        meta, spec = claim["metadata"], claim["spec"]
        name = f"{prefix}-{meta['namespace']}-{meta['name']}"[:63].rstrip("-")
        pv: Obj = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": spec["resources"]["requests"]["storage"]},
                "accessModes": spec.get("accessModes", ["ReadWriteOnce"]),
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": str(folder / name), "type": "DirectoryOrCreate"},
                "claimRef": {"namespace": meta["namespace"], "name": meta["name"]},
            },
        }
        if spec.get("storageClassName"):
            pv["spec"]["storageClassName"] = spec["storageClassName"]
        out.append(pv)
    return out
