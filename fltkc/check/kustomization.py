"""The manifests a built directory's kustomization.yaml lists (what kubectl apply -k applies)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from fltkc.compile.emit import KUSTOMIZATION
from fltkc.errors import FltkcError


class KustomizationError(FltkcError):
    """The directory has no readable kustomization.yaml, or it lists a missing file."""


def listed_resources(directory: Path) -> list[Path]:
    """The files under `resources:` in order (out/ also holds schedule.json, not a manifest)."""
    path = directory / KUSTOMIZATION
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise KustomizationError(
            f"{path}: missing or not YAML; build the directory first"
        ) from None
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise KustomizationError(f"{path}: no list of resources")
    files = [directory / r for r in resources]
    for file in files:
        if not file.is_file():
            raise KustomizationError(f"{path}: lists {file.name}, which does not exist")
    return files


# Written beside the kustomization but not listed in it (see fltkc.compile.build): validated too.
UNLISTED_MANIFESTS = ("argocd-application.yaml",)


def manifest_files(directory: Path) -> list[Path]:
    """The listed resources, then the unlisted manifests fltkc wrote (schedule.json is neither)."""
    unlisted = [directory / name for name in UNLISTED_MANIFESTS if (directory / name).is_file()]
    return listed_resources(directory) + unlisted


@contextmanager
def resources_only(directory: Path) -> Iterator[Path]:
    """A temporary directory holding just the manifests (linked, or copied)."""
    with tempfile.TemporaryDirectory(prefix="fltkc-manifests-") as tmp:
        for file in manifest_files(directory):
            target = Path(tmp) / file.name
            try:
                os.link(file, target)
            except OSError:
                shutil.copyfile(file, target)
        yield Path(tmp)
