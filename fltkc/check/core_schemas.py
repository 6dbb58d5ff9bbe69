"""Standalone, strict JSON Schemas of Kubernetes core kinds for offline kubeconform runs."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_KUBERNETES_VERSION = "1.33"
# kubeconform's -schema-location template; the same names kubernetes-validate uses.
SCHEMA_TEMPLATE = "{{ .ResourceKind }}{{ .KindSuffix }}.json"

_DEFS_PREFIX = "/api/_definitions.json#/$defs/"
_LOCAL_PREFIX = "#/$defs/"
# Bump when the generated files change shape, so stale caches are not reused.
_FORMAT = 1


class ManifestToolError(Exception):
    """A validation tool or its schemas are missing or broken (not a finding about manifests)."""

    exit_code = 2


def kind_suffix(api_version: str) -> str:
    """kubeconform's KindSuffix: `v1` -> `-v1`, `rbac.authorization.k8s.io/v1` -> `-rbac-v1`."""
    group, _, version = api_version.rpartition("/")
    if not group:
        return f"-{version.lower()}"
    return f"-{group.split('.')[0].lower()}-{version.lower()}"


def schema_filename(kind: str, api_version: str) -> str:
    """The file name SCHEMA_TEMPLATE gives a kind, e.g. `pytorchjob-kubeflow-v1.json`."""
    return f"{kind.lower()}{kind_suffix(api_version)}.json"


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/fltkc/schemas` (or `~/.cache/fltkc/schemas`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fltkc" / "schemas"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write `data` so a concurrent reader sees either no file or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _package_root() -> Path:
    try:
        import kubernetes_validate
    except ImportError:
        raise ManifestToolError(
            "kubernetes-validate is not installed; run `pip install kubernetes-validate==1.37.0`"
        ) from None
    return Path(kubernetes_validate.__file__).resolve().parent / "kubernetes-json-schema"


def _package_version() -> str:
    from importlib.metadata import version

    return version("kubernetes-validate")


def supported_versions() -> list[str]:
    """Kubernetes minor versions with bundled strict schemas, e.g. `['1.25', ..., '1.37']`."""
    found = (
        re.fullmatch(r"v(\d+)\.(\d+)\.0-local-strict", p.name) for p in _package_root().iterdir()
    )
    pairs = sorted((int(m[1]), int(m[2])) for m in found if m)
    return [f"{major}.{minor}" for major, minor in pairs]


def _minor_version(kubernetes_version: str) -> str:
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", kubernetes_version.strip())
    supported = supported_versions()
    if not match or f"{match[1]}.{match[2]}" not in supported:
        raise ManifestToolError(
            f"Kubernetes version {kubernetes_version!r} has no bundled schemas; "
            f"use one of {', '.join(supported)}"
        )
    return f"{match[1]}.{match[2]}"


def _version_dir(minor: str) -> Path:
    return _package_root() / f"v{minor}.0-local-strict"


@cache
def _definitions(minor: str) -> dict[str, Any]:
    with (_version_dir(minor) / "_definitions.json").open(encoding="utf-8") as fh:
        defs: dict[str, Any] = json.load(fh)["$defs"]
    return defs


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _localise(node: Any) -> Any:
    """A copy of `node` whose shared-definition references point into its own `$defs`."""
    if isinstance(node, dict):
        out = {k: _localise(v) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
            out["$ref"] = _LOCAL_PREFIX + ref[len(_DEFS_PREFIX) :]
        return out
    if isinstance(node, list):
        return [_localise(item) for item in node]
    return node


def inline_definitions(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every definition it reaches copied into `$defs` and its `$id` dropped."""
    root: dict[str, Any] = _localise({k: v for k, v in schema.items() if k not in ("$id", "$defs")})
    needed: dict[str, Any] = {}
    pending = list(_refs(root))
    while pending:
        ref = pending.pop()
        if not ref.startswith(_LOCAL_PREFIX):
            raise ManifestToolError(f"schema reference {ref!r} cannot be inlined")
        name = ref[len(_LOCAL_PREFIX) :]
        if name in needed:
            continue
        if name not in definitions:
            raise ManifestToolError(f"schema reference {ref!r} names no shared definition")
        needed[name] = definitions[name]
        pending.extend(_refs(definitions[name]))
    if needed:
        root["$defs"] = {name: needed[name] for name in sorted(needed)}
    return root


def core_schema(kind: str, api_version: str, kubernetes_version: str) -> dict[str, Any] | None:
    """The standalone strict schema of a core kind, or None where the version bundles none."""
    minor = _minor_version(kubernetes_version)
    path = _version_dir(minor) / schema_filename(kind, api_version)
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return inline_definitions(schema, _definitions(minor))


def core_schema_dir(kubernetes_version: str, cache_dir: Path | None = None) -> Path:
    """The cache folder for one Kubernetes version and one kubernetes-validate release."""
    minor = _minor_version(kubernetes_version)
    base = cache_dir if cache_dir is not None else default_cache_dir()
    return base / f"core{_FORMAT}-kv{_package_version()}-k8s{minor}-strict"


def write_core_schemas(
    kinds: Iterable[tuple[str, str]], kubernetes_version: str, cache_dir: Path | None = None
) -> Path:
    """Generate (once, then reuse) the schemas of the given `(kind, apiVersion)` pairs.

    Pairs without a bundled schema are left out: kubeconform then reports them as missing.
    Returns the folder to pass to kubeconform.
    """
    target = core_schema_dir(kubernetes_version, cache_dir)
    for kind, api_version in sorted(set(kinds)):
        path = target / schema_filename(kind, api_version)
        if path.is_file():
            continue
        schema = core_schema(kind, api_version, kubernetes_version)
        if schema is not None:
            write_json_atomic(path, schema)
    target.mkdir(parents=True, exist_ok=True)
    return target
