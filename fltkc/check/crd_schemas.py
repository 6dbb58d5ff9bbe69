"""Convert CustomResourceDefinitions into strict JSON Schemas that kubeconform loads offline."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from fltkc.check.core_schemas import ManifestToolError, schema_filename, write_json_atomic

CRD_KIND = "CustomResourceDefinition"
_INT_OR_STRING = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
# Bump when the generated files change shape, so stale caches are not reused.
_FORMAT = 1


def _is_int_or_string(node: dict[str, Any]) -> bool:
    return node.get("x-kubernetes-int-or-string") is True or node.get("format") == "int-or-string"


def convert_openapi(node: Any) -> Any:
    """A strict JSON Schema copy of an OpenAPI v3 schema taken from a CRD.

    Objects with `properties` get `additionalProperties: false` unless they keep unknown
    fields (`x-kubernetes-preserve-unknown-fields`) or already say what extra keys may hold;
    int-or-string values become `oneOf: [string, integer]`; `nullable` admits null.
    """
    if isinstance(node, list):
        return [convert_openapi(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: convert_openapi(value) for key, value in node.items()}
    if _is_int_or_string(node):
        for key in ("anyOf", "oneOf", "type", "format"):
            out.pop(key, None)
        out.update(_INT_OR_STRING)
    if out.pop("nullable", False) is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    keeps_unknown = node.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in node and not keeps_unknown and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


def _crd_documents(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as fh:
            docs = list(yaml.load_all(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except OSError as exc:
        raise ManifestToolError(f"{path}: cannot read CRD file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ManifestToolError(f"{where}: not valid YAML; fix the CRD file") from None
    crds = [doc for doc in docs if isinstance(doc, dict) and doc.get("kind") == CRD_KIND]
    if not crds:
        raise ManifestToolError(f"{path}: holds no {CRD_KIND}; pass a CRD file")
    return crds


def _versions(crd: dict[str, Any], path: Path) -> list[tuple[str, dict[str, Any]]]:
    spec = crd.get("spec") or {}
    # apiextensions.k8s.io/v1beta1 CRDs may keep one schema for all versions here.
    shared = (spec.get("validation") or {}).get("openAPIV3Schema")
    versions = spec.get("versions") or [{"name": spec.get("version"), "served": True}]
    found = []
    for version in versions:
        if not (version.get("served") or version.get("storage")):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema") or shared
        if not isinstance(schema, dict) or not version.get("name"):
            name = (crd.get("metadata") or {}).get("name", "?")
            raise ManifestToolError(
                f"{path}: CRD {name} version {version.get('name')!r} has no openAPIV3Schema"
            )
        found.append((str(version["name"]), schema))
    return found


def crd_schemas(path: Path) -> dict[str, dict[str, Any]]:
    """File name -> strict JSON Schema, for every served version of every CRD in `path`."""
    schemas: dict[str, dict[str, Any]] = {}
    for crd in _crd_documents(path):
        spec = crd.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind")
        group = spec.get("group")
        if not kind or not group:
            raise ManifestToolError(f"{path}: a {CRD_KIND} lacks spec.group or spec.names.kind")
        for version, schema in _versions(crd, path):
            schemas[schema_filename(kind, f"{group}/{version}")] = convert_openapi(schema)
    return schemas


def write_crd_schemas(path: Path, cache_dir: Path) -> Path:
    """Convert the CRDs in `path` once per file content; returns the folder holding them."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    except OSError as exc:
        raise ManifestToolError(f"{path}: cannot read CRD file ({exc.strerror})") from None
    target = cache_dir / f"crd{_FORMAT}-{digest}"
    done = target / ".complete"
    if done.is_file():
        return target
    for name, schema in crd_schemas(path).items():
        write_json_atomic(target / name, schema)
    done.touch()
    return target
