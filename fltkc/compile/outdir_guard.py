"""Whether a build may replace -o: only a folder that holds nothing but an earlier build."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from fltkc import contract
from fltkc.compile.emit import HEADER, KUSTOMIZATION
from fltkc.compile.input_files import MIB, InputFileError, read_capped
from fltkc.errors import FltkcError

# Not YAML: Flux and kustomize treat every YAML file under a synced path as a manifest.
BUILD_RECORD = ".fltkc-build"
RECORD_HEADER = (
    "# The files fltkc build wrote here. A rebuild replaces this folder only while it holds\n"
    "# these files and nothing else; anything else there is kept, and the build refused.\n"
)
MAX_RECORD_BYTES = 64 * MIB
# What a build wrote before the record existed, besides the resources kustomization.yaml lists.
_UNLISTED = (KUSTOMIZATION, contract.SCHEDULE_FILE, "argocd-application.yaml")
SHOWN = 5  # foreign entries named in the message


class OutputError(FltkcError):
    """The output directory cannot be written or replaced."""


def build_record(names: Iterable[str]) -> bytes:
    """The record of a build that writes `names` (sorted: same files, same bytes)."""
    return (RECORD_HEADER + "".join(f"{name}\n" for name in sorted(names))).encode()


def replace_target(out_dir: Path, inputs: Sequence[Path] = ()) -> Path:
    """The folder a build into `out_dir` replaces (a symlink's target), or why it may not.

    `inputs` are the build's own files (the experiment, --templates): never inside it.
    """
    target = _target(out_dir)
    _check_outside(out_dir, target, inputs)
    if not os.path.lexists(target):
        return target
    if not target.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a directory; choose another -o")
    if os.path.ismount(target):
        raise OutputError(
            f"{out_dir}: is a mount point, which a build cannot swap for a new folder; build "
            f"into a folder inside it (-o {out_dir / 'out'}) or mount the folder above it"
        )
    foreign = foreign_entries(target)
    if foreign:
        shown = ", ".join(name if name.isprintable() else repr(name) for name in foreign[:SHOWN])
        more = f" and {len(foreign) - SHOWN} more" if len(foreign) > SHOWN else ""
        raise OutputError(
            f"{out_dir}: holds what fltkc build did not write ({shown}{more}); a rebuild "
            "would delete it: move it away or choose another -o"
        )
    return target


def _check_outside(out_dir: Path, target: Path, inputs: Sequence[Path]) -> None:
    """Replacing -o must not take the shell's current directory or the build's inputs with it."""
    cwd = _cwd()
    if cwd is not None and _resolved(cwd) == target:
        raise OutputError(
            f"{out_dir}: is the current directory, and a build replaces the whole -o folder; "
            "build into a folder below it, such as -o out"
        )
    if cwd is not None and _resolved(cwd).is_relative_to(target):
        raise OutputError(f"{out_dir}: holds the current directory; choose another -o")
    for path in inputs:
        if _resolved(path).is_relative_to(target):
            raise OutputError(
                f"{out_dir}: holds {path}, which this build reads; choose another -o, "
                "such as -o out"
            )


def foreign_entries(directory: Path) -> list[str]:
    """Names in `directory` that no earlier build wrote (sorted); [] when it is ours or empty."""
    with os.scandir(directory) as scan:
        entries = {entry.name: entry.is_file(follow_symlinks=False) for entry in scan}
    ours = _recorded(directory) if BUILD_RECORD in entries else _legacy(directory, entries)
    return sorted(name for name, is_file in entries.items() if not (is_file and name in ours))


def _recorded(directory: Path) -> set[str]:
    try:
        text = read_capped(directory / BUILD_RECORD, MAX_RECORD_BYTES).decode("utf-8")
    except (InputFileError, UnicodeDecodeError):
        return set()
    if not text.startswith(RECORD_HEADER):
        return set()
    return {BUILD_RECORD, *text[len(RECORD_HEADER) :].splitlines()}


def _legacy(directory: Path, entries: dict[str, bool]) -> set[str]:
    """A build from before the record: our kustomization.yaml and exactly what it lists."""
    if not entries.get(KUSTOMIZATION):
        return set()
    try:
        text = read_capped(directory / KUSTOMIZATION, MAX_RECORD_BYTES).decode("utf-8")
        if not text.startswith(HEADER):
            return set()
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (InputFileError, UnicodeDecodeError, yaml.YAMLError):
        return set()
    resources = data.get("resources") if isinstance(data, dict) else None
    if not isinstance(resources, list):
        return set()
    return {*_UNLISTED, *(r for r in resources if isinstance(r, str))}


def _target(out_dir: Path) -> Path:
    """`out_dir` made absolute with symlinks resolved: a symlinked -o is written through."""
    if out_dir.is_symlink() and not out_dir.exists():
        raise OutputError(
            f"{out_dir}: is a symlink to {os.readlink(out_dir)}, which does not exist; "
            "create that folder or choose another -o"
        )
    try:
        return out_dir.resolve()
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
        raise OutputError(f"{out_dir}: cannot be resolved (a symlink loop?)") from None


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _cwd() -> Path | None:
    try:
        return Path.cwd()
    except OSError:  # deleted under us: nothing to protect
        return None
