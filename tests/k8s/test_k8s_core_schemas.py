"""Core Kubernetes schemas from kubernetes-validate, inlined into standalone files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from k8s_tools import schema_cache_dir
from referencing import Registry
from referencing.exceptions import NoSuchResource

from fltkc.check.core_schemas import (
    DEFAULT_KUBERNETES_VERSION,
    ManifestToolError,
    core_schema,
    core_schema_dir,
    supported_versions,
    write_core_schemas,
)

# Every core kind the compiler emits, with the smallest object of that kind the API accepts.
KINDS: dict[tuple[str, str], dict[str, Any]] = {
    ("PersistentVolumeClaim", "v1"): {"spec": {"accessModes": ["ReadWriteOnce"]}},
    ("ConfigMap", "v1"): {"data": {"config.json": "{}"}},
    ("Service", "v1"): {"spec": {"clusterIP": "None", "ports": [{"port": 80}]}},
    ("ServiceAccount", "v1"): {},
    ("Job", "batch/v1"): {
        "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}
    },
    ("Deployment", "apps/v1"): {
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}},
        }
    },
    ("Role", "rbac.authorization.k8s.io/v1"): {
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    },
    ("RoleBinding", "rbac.authorization.k8s.io/v1"): {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "s"}],
    },
}


def _offline(uri: str) -> Any:
    raise NoSuchResource(ref=uri)  # any lookup outside the file would need the network


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


@pytest.fixture(scope="module")
def schema_dir() -> Path:
    return write_core_schemas(KINDS, DEFAULT_KUBERNETES_VERSION, schema_cache_dir())


@pytest.mark.parametrize(("kind", "api_version"), sorted(KINDS))
def test_core_schema_is_standalone_and_strict(
    schema_dir: Path, kind: str, api_version: str
) -> None:
    group = api_version.rpartition("/")[0].split(".")[0]
    suffix = f"-{group}" if group else ""
    path = schema_dir / f"{kind.lower()}{suffix}-v1.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    refs = _refs(schema)
    assert refs and all(ref.startswith("#/$defs/") for ref in refs)
    assert "$id" not in schema and "https://" not in "".join(refs)
    assert all(ref.removeprefix("#/$defs/") in schema["$defs"] for ref in refs)

    validator = jsonschema.Draft202012Validator(schema, registry=Registry(retrieve=_offline))
    jsonschema.Draft202012Validator.check_schema(schema)
    good = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x"},
        **KINDS[(kind, api_version)],
    }
    assert list(validator.iter_errors(good)) == []
    bad = {**good, "metadata": {"name": "x", "labelz": {}}}
    [error] = list(validator.iter_errors(bad))
    assert list(error.absolute_path) == ["metadata"]


def test_schemas_are_generated_once_and_reused(tmp_path: Path) -> None:
    pair = [("ConfigMap", "v1")]
    target = write_core_schemas(pair, "v1.33.4", tmp_path)
    path = target / "configmap-v1.json"
    path.write_text("{}", encoding="utf-8")  # a stand-in that only survives if reused
    assert write_core_schemas(pair, "1.33", tmp_path) == target
    assert path.read_text(encoding="utf-8") == "{}"
    assert core_schema_dir("1.34", tmp_path) != target


def test_kind_without_bundled_schema_is_left_for_kubeconform(tmp_path: Path) -> None:
    target = write_core_schemas([("PyTorchJob", "kubeflow.org/v1")], "1.33", tmp_path)
    assert list(target.iterdir()) == []
    assert core_schema("PyTorchJob", "kubeflow.org/v1", "1.33") is None


def test_versions_are_checked() -> None:
    assert {"1.25", "1.33", "1.37"} <= set(supported_versions())
    with pytest.raises(ManifestToolError, match="use one of 1.25"):
        core_schema("ConfigMap", "v1", "2.0")
