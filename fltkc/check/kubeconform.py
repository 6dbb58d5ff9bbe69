"""Validate rendered manifests offline with the real kubeconform and strict local schemas."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fltkc.check.core_schemas import (
    DEFAULT_KUBERNETES_VERSION,
    SCHEMA_TEMPLATE,
    ManifestToolError,
    default_cache_dir,
    write_core_schemas,
)
from fltkc.check.crd_schemas import write_crd_schemas

__all__ = ["ManifestReport", "ManifestToolError", "check_manifests", "find_kubeconform"]

KUBECONFORM_INSTALL = "go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0"
SKIPPED_KINDS = ("Kustomization",)
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")  # the files kubeconform reads in a folder
_TIMEOUT_S = 300
# kubeconform names the schema file (an absolute path) inside every message; say only what failed.
_SCHEMA_NOISE = re.compile(
    r"problem validating schema\. Check JSON formatting: "
    r"jsonschema validation failed with '[^']*' - "
)


@dataclass(frozen=True)
class ManifestReport:
    """kubeconform's summary and one message per resource that did not validate."""

    valid: int
    invalid: int
    errors: int
    skipped: int
    messages: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.invalid == 0 and self.errors == 0


def find_kubeconform(explicit: str | None = None) -> str:
    """The kubeconform binary: `explicit`, else on PATH, else `~/go/bin`."""
    if explicit is not None:
        found = shutil.which(explicit)
        if found is None:
            raise ManifestToolError(
                f"kubeconform not found at {explicit}; install it: {KUBECONFORM_INSTALL}"
            )
        return found
    found = shutil.which("kubeconform") or shutil.which(
        "kubeconform", path=str(Path.home() / "go" / "bin")
    )
    if found is None:
        raise ManifestToolError(f"kubeconform is not installed; install it: {KUBECONFORM_INSTALL}")
    return found


def _manifest_files(directory: Path) -> Iterator[Path]:
    for root, _, files in os.walk(directory):
        for name in sorted(files):
            if name.endswith(_MANIFEST_SUFFIXES):
                yield Path(root) / name


def _kinds_in(doc: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(doc, dict):
        return
    kind, api_version = doc.get("kind"), doc.get("apiVersion")
    if isinstance(kind, str) and isinstance(api_version, str):
        yield kind, api_version
    if isinstance(kind, str) and kind.endswith("List"):
        for item in doc.get("items") or ():
            yield from _kinds_in(item)


def manifest_kinds(directory: Path) -> set[tuple[str, str]]:
    """`(kind, apiVersion)` pairs in the folder; unreadable files are left to kubeconform."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    kinds: set[tuple[str, str]] = set()
    for path in _manifest_files(directory):
        try:
            with path.open(encoding="utf-8") as fh:
                for doc in yaml.load_all(fh, Loader=loader):
                    kinds.update(_kinds_in(doc))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
    return kinds


def _message(resource: dict[str, Any]) -> str:
    where = resource.get("filename", "?")
    what = f"{resource.get('kind', '?')} {resource.get('name') or '?'}".strip()
    status = str(resource.get("status", "")).removeprefix("status").lower()
    detail = _SCHEMA_NOISE.sub("", str(resource.get("msg", "")))
    return f"{where}: {what}: {status}: {detail}"


def parse_output(stdout: str, stderr: str = "") -> ManifestReport:
    """Turn kubeconform's `-output json -summary` document into a report."""
    try:
        data = json.loads(stdout)
        summary = data["summary"]
        valid, invalid, errors, skipped = (
            int(summary[key]) for key in ("valid", "invalid", "errors", "skipped")
        )
    except (ValueError, KeyError, TypeError):
        first = ((stderr or stdout).strip().splitlines() or ["no output"])[0][:200]
        raise ManifestToolError(f"kubeconform printed no JSON summary: {first}") from None
    resources = data.get("resources") or []
    messages = tuple(
        _message(r)
        for r in resources
        if isinstance(r, dict) and r.get("status") in ("statusInvalid", "statusError")
    )
    return ManifestReport(valid, invalid, errors, skipped, messages)


def kubeconform_command(binary: str, directory: Path, schema_dirs: Sequence[Path]) -> list[str]:
    """The kubeconform command line; only local schema folders, so it never needs the network."""
    command = [binary, "-strict", "-output", "json", "-summary", "-skip", ",".join(SKIPPED_KINDS)]
    for schema_dir in schema_dirs:
        command += ["-schema-location", f"{schema_dir}/{SCHEMA_TEMPLATE}"]
    return [*command, str(directory)]


def check_manifests(
    directory: Path,
    crds: Sequence[Path] = (),
    kubeconform: str | None = None,
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
    cache_dir: Path | None = None,
) -> ManifestReport:
    """Validate every manifest under `directory` with kubeconform -strict, fully offline.

    Core kinds use kubernetes-validate's strict schemas for `kubernetes_version`; custom
    kinds need their CRD in `crds`. A kind without a schema counts as an error.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ManifestToolError(f"{directory}: no such folder of manifests")
    binary = find_kubeconform(kubeconform)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    schema_dirs = [write_core_schemas(manifest_kinds(directory), kubernetes_version, cache)]
    schema_dirs += [write_crd_schemas(Path(crd), cache) for crd in crds]
    command = kubeconform_command(binary, directory, schema_dirs)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ManifestToolError(f"kubeconform took over {_TIMEOUT_S} s on {directory}") from None
    except OSError as exc:
        raise ManifestToolError(f"cannot run {binary}: {exc.strerror}") from None
    if done.returncode not in (0, 1):
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise ManifestToolError(f"kubeconform failed (exit {done.returncode}): {first}")
    return parse_output(done.stdout, done.stderr)
