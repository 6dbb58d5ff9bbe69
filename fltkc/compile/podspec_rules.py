"""Pod-spec fields the API server or kubelet would reject after `kubectl apply` succeeded."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from typing import Any

from fltkc import contract
from fltkc.compile.experiment import toleration
from fltkc.compile.quantity import OUT_OF_RANGE, parse
from fltkc.errors import Path

Issue = tuple[Path, str]

# k8s.io/apimachinery/pkg/util/validation: IsQualifiedName, IsValidLabelValue, IsDNS1123Subdomain.
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(rf"({_NAME})?")
QUALIFIED_NAME = (
    "a Kubernetes label key such as gpu or example.com/gpu (up to 63 letters, digits, '-', '_' "
    "or '.', first and last a letter or digit)"
)
LABEL_VALUE = (
    "a Kubernetes label value (up to 63 letters, digits, '-', '_' or '.', first and last a "
    "letter or digit)"
)
# No node sold has more than 16 GPUs (8 is usual; a DGX-2 has 16) and a pod runs on one node,
# so a larger count leaves the pod Pending for ever; more GPUs mean more workers.
MAX_GPUS_PER_POD = 16
_DEFAULT_MOUNTS = {"logs": contract.DEFAULT_LOGS_MOUNT, "data": contract.DEFAULT_DATA_MOUNT}


def podspec_issues(doc: Mapping[str, Any]) -> list[Issue]:
    """Every problem of the fields fltkc copies into pod specs, with absolute paths."""
    spec = doc["spec"]
    issues = list(_mount_issues(spec.get("storage", {})))
    for role, volume in spec.get("storage", {}).items():
        where = ("spec", "storage", role)
        if "size" in volume:
            issues += _quantity((*where, "size"), volume["size"])
        if "storageClassName" in volume and not is_subdomain(volume["storageClassName"]):
            message = (
                f"{_shown(volume['storageClassName'])} is not a StorageClass name (a DNS "
                "subdomain: lowercase letters, digits, '-' and '.'); see kubectl get storageclass"
            )
            issues.append(((*where, "storageClassName"), message))
    for name, profile in spec.get("profiles", {}).items():
        issues += _profile_issues(("spec", "profiles", name), profile)
    return issues


def is_subdomain(text: str) -> bool:
    return len(text) <= 253 and _SUBDOMAIN.fullmatch(text) is not None


def is_qualified_name(text: str) -> bool:
    prefix, slash, name = text.rpartition("/")
    if slash and not (prefix and is_subdomain(prefix)):
        return False
    return re.fullmatch(_NAME, name) is not None


def is_label_value(text: str) -> bool:
    return len(text) <= 63 and _LABEL_VALUE.fullmatch(text) is not None


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37]) + "..."


def _quantity(path: Path, value: Any) -> list[Issue]:
    try:
        parse(value)
    except ValueError:
        return [(path, OUT_OF_RANGE)]
    return []


def _profile_issues(where: Path, profile: Mapping[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    for block in ("requests", "limits"):
        for key, value in profile.get(block, {}).items():
            issues += _quantity((*where, block, key), value)
    count = profile.get("gpus", {}).get("count", 0)
    if count > MAX_GPUS_PER_POD:
        message = (
            f"{count} GPUs in one pod; a pod runs on one node and none has more than "
            f"{MAX_GPUS_PER_POD}, so it would stay Pending: use at most {MAX_GPUS_PER_POD} "
            "and more workers"
        )
        issues.append(((*where, "gpus", "count"), message))
    for key, value in profile.get("nodeSelector", {}).items():
        if not is_qualified_name(key):
            issues.append(
                ((*where, "nodeSelector", key), f"key {_shown(key)} is not {QUALIFIED_NAME}")
            )
        if not is_label_value(value):
            issues.append(((*where, "nodeSelector", key), f"{_shown(value)} is not {LABEL_VALUE}"))
    for i, item in enumerate(profile.get("tolerations", [])):
        issues += _toleration_issues((*where, "tolerations", i), item)
    return issues


def _toleration_issues(where: Path, item: str | Mapping[str, Any]) -> Iterator[Issue]:
    tol = toleration(item)
    # The short form has one position; an object's problems point at their field.
    at = (lambda field: where) if isinstance(item, str) else (lambda field: (*where, field))
    if not is_qualified_name(tol["key"]):
        yield at("key"), f"key {_shown(tol['key'])} is not {QUALIFIED_NAME}"
    if tol["operator"] == "Equal" and not is_label_value(tol.get("value", "")):
        yield at("value"), f"{_shown(tol['value'])} is not {LABEL_VALUE}"
    if "tolerationSeconds" in tol and tol.get("effect") != "NoExecute":
        message = "applies only with effect NoExecute; set effect: NoExecute or remove it"
        yield at("tolerationSeconds"), message


def _mount_issues(storage: Mapping[str, Any]) -> Iterator[Issue]:
    """Each volume on its own path, clear of the config mount and of the image's /etc."""
    given = {role: storage.get(role, {}).get("mountPath") for role in _DEFAULT_MOUNTS}
    paths = {role: given[role] or default for role, default in _DEFAULT_MOUNTS.items()}
    clean = {role: "/" + posixpath.normpath(path).lstrip("/") for role, path in paths.items()}
    if clean["logs"] == clean["data"]:
        role = "data" if given["data"] else "logs"
        other = "logs" if role == "data" else "data"
        message = (
            f"{paths[role]} is also the {other} volume's mount path; a container cannot mount "
            "two volumes on one path: give each its own"
        )
        yield ("spec", "storage", role, "mountPath"), message
    config = contract.CONFIG_MOUNT_DIR
    for role, path in clean.items():
        where = ("spec", "storage", role, "mountPath")
        instead = f"use a path such as {_DEFAULT_MOUNTS[role]}"
        if path == config or path.startswith(config + "/"):
            message = f"{paths[role]} is inside {config}, where the job's config is mounted"
            yield where, f"{message} read-only; {instead}"
        elif config.startswith(path.rstrip("/") + "/"):
            message = f"{paths[role]} holds {config}, where the job's config is mounted"
            yield where, f"{message}, and would hide the image's files there; {instead}"
