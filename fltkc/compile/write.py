"""Write stage: replace the output directory atomically with the rendered files."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from fltkc.compile.emit import HEADER, KUSTOMIZATION
from fltkc.errors import FltkcError


class OutputError(FltkcError):
    """The output directory cannot be written or replaced."""


def write_output(files: Mapping[str, bytes], out_dir: Path) -> None:
    """Write `files` into a temporary sibling of `out_dir`, then swap it into place.

    A failed build leaves a previous `out_dir` untouched; a successful one leaves no stale file.
    """
    _check_replaceable(out_dir)
    parent = out_dir.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=parent))
    except OSError as exc:
        raise OutputError(
            f"{out_dir}: cannot create the output directory ({exc.strerror})"
        ) from None
    try:
        _write_files(staging, files)
        staging.chmod(0o755)
        _swap(staging, out_dir.absolute())
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot write the output ({exc.strerror})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_files(directory: Path, files: Mapping[str, bytes]) -> None:
    """One open, write and close per file: no buffering layer, no fsync (the directory swap
    is what makes the output appear at once; a crash before it leaves only the staging copy)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for name, content in files.items():
            fd = os.open(name, flags, 0o666, dir_fd=dir_fd)  # as open(): umask applies
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
    finally:
        os.close(dir_fd)


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a directory that fltkc did not write (a typo in -o must not cost data)."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a directory; choose another -o")
    marker = out_dir / KUSTOMIZATION
    ours = marker.is_file() and marker.read_bytes().startswith(HEADER.encode())
    if not ours and any(out_dir.iterdir()):
        message = (
            f"{out_dir}: not empty and not written by fltkc build; remove it or choose another -o"
        )
        raise OutputError(message)


def _swap(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rename(out_dir, old / out_dir.name)
    try:
        os.rename(staging, out_dir)
    except OSError:
        os.rename(old / out_dir.name, out_dir)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
