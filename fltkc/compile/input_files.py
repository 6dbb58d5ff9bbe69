"""Reading the user's input files safely: regular files only, size-capped, confined paths."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePath

MIB = 1 << 20


class InputFileError(ValueError):
    """Why a file was not read: a short phrase such as `not found` or `over 16 MiB`."""


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The bytes of `path` if it is a regular file of at most `max_bytes`.

    Opened without blocking and checked on the open descriptor before anything is read, so a
    FIFO, a device such as /dev/zero or a directory is refused at once instead of hanging or
    filling memory, and the check is of the very file that is read.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputFileError("not found") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise InputFileError(_reason(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputFileError(f"{_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise InputFileError(f"over {_size(max_bytes)}")
        chunks: list[bytes] = []
        total = 0
        # The size may change after fstat (a growing file): never read more than the cap.
        while total <= max_bytes:
            chunk = os.read(fd, min(MIB, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise InputFileError(f"over {_size(max_bytes)}")
        return b"".join(chunks)
    except OSError as exc:
        raise InputFileError(_reason(exc)) from None
    finally:
        os.close(fd)


def resolve_below(base_dir: Path, relative: str) -> Path:
    """`base_dir / relative` with symlinks resolved, if it stays below `base_dir`.

    For files an experiment names (trace files): a relative path, resolved first and checked
    after, so neither `..` nor a symlink reaches /proc, /dev or a home directory.
    """
    if PurePath(relative).is_absolute() or relative.startswith("~"):
        raise InputFileError("an absolute path; give it relative to the experiment file")
    try:
        root = base_dir.resolve()
        target = (root / relative).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop (RuntimeError before 3.13), NUL
        raise InputFileError("cannot be resolved (a symlink loop?)") from None
    if not target.is_relative_to(root):
        raise InputFileError("outside the experiment file's folder; move it below that folder")
    return target


def read_below(base_dir: Path, relative: str, max_bytes: int) -> str:
    """`resolve_below` then `read_capped`, decoded as UTF-8 text."""
    data = read_capped(resolve_below(base_dir, relative), max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError("not UTF-8 text") from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _reason(exc: OSError | ValueError) -> str:
    if isinstance(exc, ValueError):
        return "not a usable file name"
    if isinstance(exc, IsADirectoryError):
        return "a directory, not a regular file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or exc.__class__.__name__).lower()


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit} bytes"
