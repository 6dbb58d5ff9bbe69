"""What templates must render: Kubernetes objects under safe file names, a job per plan job."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from fltkc.compile.jsonnet_eval import TemplateError
from fltkc.compile.limits import CONFIGMAP_BYTES, configmap_bytes
from fltkc.compile.podspec_rules import is_subdomain
from fltkc.contract.datafiles import resource_dir

TRAINING_KINDS = ("PyTorchJob", "TrainJob")
# A key becomes `<key>.yaml` in out/: one path component, no dot file, the same on a
# case-insensitive disk, well under the 255-byte name limit.
_STEM = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
MAX_STEM = 200
RESERVED_STEMS = ("kustomization",)  # written by emit.package_files from the other keys
TEMPLATE_SUFFIXES = (".jsonnet", ".libsonnet")


def rendered_mapping(objects: Any) -> Mapping[str, Any]:
    """main.jsonnet's result, if it is the `{file stem: object}` mapping it must be."""
    if not isinstance(objects, dict):
        raise TemplateError(
            f"template error: main.jsonnet returned {_kind(objects)}; it must return an object "
            "of {file stem: manifest}"
        )
    return objects


class ObjectChecker:
    """Checks each rendered object as it is written out; collects the training jobs' names."""

    def __init__(self) -> None:
        self.training: list[str] = []

    def __call__(self, stem: str, obj: Any) -> None:
        where = f"template error: object {_shown(stem)}"
        if not _STEM.fullmatch(stem) or len(stem) > MAX_STEM or stem in RESERVED_STEMS:
            raise TemplateError(
                f"{where}: the key is not a file name fltkc writes (lowercase letters, digits, "
                f"'-' and '.', at most {MAX_STEM}, not {', '.join(RESERVED_STEMS)}); "
                "rename it in the template"
            )
        if not isinstance(obj, dict):
            raise TemplateError(f"{where} is {_kind(obj)}; a manifest must be an object")
        for field in ("apiVersion", "kind"):
            if not isinstance(obj.get(field), str) or not obj[field]:
                raise TemplateError(f"{where} has no {field}; set it in the template")
        metadata = obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        if not isinstance(name, str) or not is_subdomain(name):
            raise TemplateError(
                f"{where}: metadata.name {_shown(name)} is not a Kubernetes name (lowercase "
                "letters, digits, '-' and '.', at most 253); fix the template"
            )
        if obj["kind"] == "ConfigMap":
            _check_configmap(where, obj)
        if obj["kind"] in TRAINING_KINDS:
            self.training.append(name)


def checked_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an object that ObjectChecker reads: an object passes if these pass."""
    view = {key: obj[key] for key in ("apiVersion", "kind", "data", "binaryData") if key in obj}
    metadata = obj.get("metadata")
    view["metadata"] = {"name": metadata.get("name")} if isinstance(metadata, dict) else metadata
    return view


def _check_configmap(where: str, obj: Mapping[str, Any]) -> None:
    size = 0
    for field in ("data", "binaryData"):
        block = obj.get(field) or {}
        if not isinstance(block, dict) or not all(isinstance(v, str) for v in block.values()):
            raise TemplateError(f"{where}: ConfigMap {field} must map keys to strings")
        size += configmap_bytes(block)
    if size > CONFIGMAP_BYTES:
        raise TemplateError(
            f"{where}: ConfigMap data is {size} bytes, over Kubernetes' limit of "
            f"{CONFIGMAP_BYTES} (1 MiB); put less in it"
        )


def require_training_jobs(plan_jobs: Iterable[str], training: Iterable[str]) -> None:
    """Every plan job must come out as a training job of its name (what runs is what compiled)."""
    rendered = set(training)
    missing = [name for name in plan_jobs if name not in rendered]
    if missing:
        others = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise TemplateError(
            f"template error: no {' or '.join(TRAINING_KINDS)} named {missing[0]}{others}; "
            "the templates must render one training job for every job of the plan"
        )


def check_template_dir(user_dir: Path | None) -> None:
    """A --templates folder must exist and override at least one built-in template."""
    if user_dir is None:
        return
    if not user_dir.is_dir():
        state = "not a directory" if user_dir.exists() else "no such directory"
        raise TemplateError(
            f"--templates {user_dir}: {state}; give the folder holding your template overrides"
        )
    builtin = resource_dir("templates")
    names = sorted(
        path.relative_to(builtin)
        for path in builtin.rglob("*")
        if path.suffix in TEMPLATE_SUFFIXES and path.is_file()
    )
    if not any((user_dir / name).is_file() for name in names):
        raise TemplateError(
            f"--templates {user_dir}: overrides no built-in template (a file there must have "
            "the path of one, such as main.jsonnet or lib/pytorchjob.libsonnet)"
        )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 66 else text[:63] + "..."


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
