"""Start, watch and stop the control plane's processes by process id."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1


class StartError(Exception):
    """A component did not start or become ready; the message ends with its log."""


def _die_with_parent() -> None:
    # Runs in the child before exec: the kernel sends SIGTERM when the process that started it
    # dies, so even a pytest killed with SIGKILL leaves no control plane behind.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None, attached: bool = True
) -> subprocess.Popen[bytes]:
    """Start `argv` with output to `log`; attached processes die with this one."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            # Its own session: a Ctrl-C meant for the caller does not skip the orderly stop.
            start_new_session=True,
            preexec_fn=_die_with_parent if attached else None,
        )


def alive(pid: int, executable: str | None = None) -> bool:
    """True while `pid` runs (not a zombie) and, if given, still is `executable`."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        if executable is not None:
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0].decode()
            return Path(argv0).name == Path(executable).name
    except (OSError, IndexError):
        return False
    return True


def stop(pids: Mapping[str, tuple[int, str]], timeout: float = 15.0) -> list[str]:
    """SIGTERM each (pid, executable) still running, in reverse start order, then SIGKILL.

    Checking the executable first means a pid reused by another program is never signalled.
    Returns the names that had to be killed.
    """
    running = {n: p for n, (p, exe) in pids.items() if alive(p, exe)}
    for name in reversed(list(running)):
        _signal(running[name], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in running.values()):
        _reap(running.values())
        time.sleep(0.1)
    killed = [n for n, p in running.items() if alive(p)]
    for name in killed:
        _signal(running[name], signal.SIGKILL)
    _reap(running.values())
    return killed


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _reap(pids: Iterable[int]) -> None:
    """Collect exit statuses of our own children, so they do not linger as zombies."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def wait_until(
    ready: Callable[[], bool],
    what: str,
    timeout: float,
    procs: Mapping[str, tuple[subprocess.Popen[bytes], Path]] = {},  # noqa: B006 (read-only)
    interval: float = 0.1,
) -> float:
    """Poll `ready` until true; StartError with the log when a watched process exits or on timeout.

    Returns the seconds waited.
    """
    start = time.monotonic()
    while True:
        if ready():
            return time.monotonic() - start
        for name, (proc, log) in procs.items():
            if proc.poll() is not None:
                raise StartError(
                    f"{name} exited with {proc.returncode} while waiting for "
                    f"{what}; {log}:\n{tail(log)}"
                )
        if time.monotonic() - start > timeout:
            logs = "\n".join(f"--- {log}:\n{tail(log, 1500)}" for _, log in procs.values())
            raise StartError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")
        time.sleep(interval)


def https_ok(url: str, pki: Path | None = None) -> bool:
    """GET `url` answers 200; with a `pki` folder, as its admin over its cluster CA."""
    context = ssl.create_default_context()
    if pki is None:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    else:
        context.load_verify_locations(pki / "ca.crt")
        context.load_cert_chain(pki / "admin.crt", pki / "admin.key")
    try:
        with urllib.request.urlopen(url, context=context, timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False
