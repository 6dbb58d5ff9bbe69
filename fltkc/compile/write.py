"""Write stage: replace the output directory atomically with the rendered files."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from fltkc.compile.outdir_guard import BUILD_RECORD, OutputError, build_record, replace_target

__all__ = ["OutputError", "write_output"]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h
_DEFERRED = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)


def write_output(files: Mapping[str, bytes], out_dir: Path, inputs: Sequence[Path] = ()) -> None:
    """Write `files` (and the build record) into a temporary sibling, then swap it into place.

    Refuses an `out_dir` holding anything an earlier build did not write (outdir_guard). A
    failed build leaves a previous `out_dir` untouched and no temporary folder behind; a
    successful one leaves no stale file. `inputs` must not lie inside `out_dir`.
    """
    try:
        target = replace_target(out_dir, inputs)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    except OSError as exc:
        raise OutputError(
            f"{out_dir}: cannot create the output directory ({exc.strerror})"
        ) from None
    try:
        names = [name for name in files if name != BUILD_RECORD]
        _write_files(staging, {**files, BUILD_RECORD: build_record(names)})
        staging.chmod(0o755)
        with _signals_deferred():
            _swap(staging, target)
    except OSError as exc:
        raise OutputError(
            f"{out_dir}: cannot write the output ({exc.strerror}); {out_dir} is as it was"
        ) from None
    finally:
        with _signals_deferred():  # after a swap, staging holds the previous output
            shutil.rmtree(staging, ignore_errors=True)


def _write_files(directory: Path, files: Mapping[str, bytes]) -> None:
    """One open, write and close per file: no buffering layer, no fsync (the directory swap
    is what makes the output appear at once; a crash before it leaves only the staging copy)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for name, content in files.items():
            if "/" in name or name in ("", ".", ".."):  # render_checks keeps stems flat
                raise OSError(errno.EINVAL, f"not a file name: {name!r}")
            fd = os.open(name, flags, 0o666, dir_fd=dir_fd)  # as open(): umask applies
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
            finally:
                os.close(fd)
    finally:
        os.close(dir_fd)


def _swap(staging: Path, target: Path) -> None:
    """`staging` becomes `target`; a previous `target` ends up at `staging` (to be removed).

    Never a moment without `target`: one atomic exchange where Linux offers it, else two
    renames with interrupts held back until both are done (the caller defers them).
    """
    if not os.path.lexists(target):
        os.rename(staging, target)
    elif not _exchange(staging, target):
        old = staging.with_name(staging.name.replace(".new-", ".old-", 1))
        os.rename(target, old)
        try:
            os.rename(staging, target)
        except OSError:
            os.rename(old, target)
            raise
        try:
            os.rename(old, staging)  # removed with staging by the caller
        except OSError:
            shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2  # glibc >= 2.28, musl >= 1.2.3
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # an old kernel, or a file system without exchange (some NFS, overlayfs)
    raise OSError(code, os.strerror(code), str(b))


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold back Ctrl-C and termination signals until the block is done, then deliver them.

    A signal sent to the process may reach any thread, and Python runs its handler in the main
    thread at the next bytecode, so masking this thread would not do: record them instead.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; the CLI writes from there
        return
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda sig, _: caught.append(sig)) for sig in _DEFERRED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in caught:
            signal.raise_signal(sig)
