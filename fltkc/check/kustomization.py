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
from fltkc.compile.input_files import MIB, InputFileError, read_capped
from fltkc.errors import FltkcError

# fltkc writes about 120 bytes a resource, at most 100,000 jobs of a few objects each.
MAX_KUSTOMIZATION_BYTES = 64 * MIB


class KustomizationError(FltkcError):
    """The directory has no readable kustomization.yaml, or it lists a missing file."""


def listed_resources(directory: Path) -> list[Path]:
    """The files under `resources:` in order (out/ also holds schedule.json, not a manifest)."""
    path = directory / KUSTOMIZATION
    try:
        text = read_capped(path, MAX_KUSTOMIZATION_BYTES).decode("utf-8")
    except InputFileError as exc:
        raise KustomizationError(
            f"{path}: cannot read it ({exc}); build the directory first"
        ) from None
    except UnicodeDecodeError:
        raise KustomizationError(f"{path}: not UTF-8 text; build the directory first") from None
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        raise KustomizationError(f"{path}: not YAML; build the directory first") from None
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise KustomizationError(f"{path}: no list of resources")
    for name in resources:
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            # fltkc writes flat directories; a path could reach any file on this machine.
            raise KustomizationError(f"{path}: lists {name[:64]!r}, not a file of this directory")
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
