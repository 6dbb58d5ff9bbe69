"""The one adapter to Jsonnet: rjsonnet (default) or the official C++ binding, confined imports."""

from __future__ import annotations

import json
import os
import selectors
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from fltkc.contract.datafiles import resource_dir
from fltkc.errors import FltkcError

BACKEND_ENV = "FLTKC_JSONNET"
DEFAULT_BACKEND = "rjsonnet"
BUILTIN_PREFIX = "fltkc"  # `import 'fltkc/lib/x.libsonnet'` always reaches the shipped library
Natives = Mapping[str, tuple[tuple[str, ...], Callable[..., Any]]]


class TemplateError(FltkcError):
    """A template failed to import or evaluate; the message is Jsonnet's, one problem per line."""


def _rjsonnet(name: str, code: str, imports: Callable[..., Any], **args: Any) -> str:
    import rjsonnet

    def callback(_dir: str, rel: str) -> tuple[str, str]:
        found, content = imports(rel)
        return found, content.decode("utf-8")

    # jrsonnet's cycle collector costs more than the evaluation itself and frees little (the
    # result is live until manifested); large plans are evaluated in chunks by short-lived
    # forked processes instead (fltkc.compile.render), whose memory goes back when they exit.
    # The stub lacks `gc`; the binding takes it (help(rjsonnet)).
    evaluate_snippet: Callable[..., str] = rjsonnet.evaluate_snippet
    return evaluate_snippet(name, code, import_callback=callback, gc=False, **args)


def _cpp(name: str, code: str, imports: Callable[..., Any], **args: Any) -> str:
    import _jsonnet

    out: str = _jsonnet.evaluate_snippet(
        name, code, import_callback=lambda _dir, rel: imports(rel), **args
    )
    return out


BACKENDS: dict[str, Callable[..., str]] = {"rjsonnet": _rjsonnet, "cpp": _cpp}


def backend_name(backend: str | None = None) -> str:
    """`backend`, else $FLTKC_JSONNET, else rjsonnet; an unknown name lists the valid ones."""
    name = backend or os.environ.get(BACKEND_ENV, DEFAULT_BACKEND)
    if name not in BACKENDS:
        valid = ", ".join(BACKENDS)
        raise TemplateError(
            f"unknown Jsonnet backend {name!r} ({BACKEND_ENV}); use one of: {valid}"
        )
    return name


def search_path(user_dir: Path | None = None) -> tuple[Path, ...]:
    """The template roots, a user's directory first."""
    builtin = resource_dir("templates")
    return (user_dir, builtin) if user_dir is not None else (builtin,)


class _Resolver:
    """Finds an import in the search roots and refuses anything outside them."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = [root.resolve() for root in roots]

    def __call__(self, rel: str) -> tuple[str, bytes]:
        path = PurePosixPath(rel)
        if path.is_absolute() or ".." in path.parts or not rel:
            raise RuntimeError(
                f"import {rel!r} is refused: use a path inside the template search path"
            )
        roots = self.roots
        if path.parts[0] == BUILTIN_PREFIX and len(path.parts) > 1:
            roots, path = self.roots[-1:], PurePosixPath(*path.parts[1:])
        for root in roots:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                return str(candidate), candidate.read_bytes()
        raise RuntimeError(f"import {rel!r} not found in the template search path")


def evaluate(
    main: str,
    tla_codes: dict[str, str],
    roots: Sequence[Path],
    backend: str | None = None,
) -> Any:
    """Evaluate `main` (found in `roots`) with top-level arguments; the result as JSON data."""
    run = BACKENDS[backend_name(backend)]
    resolver = _Resolver(roots)
    try:
        found, code = resolver(main)
        text = run(found, code.decode("utf-8"), resolver, tla_codes=tla_codes)
    except RuntimeError as exc:
        raise TemplateError(f"template error: {str(exc).strip()}") from None
    return json.loads(text)


def evaluate_snippet(
    name: str,
    code: str,
    roots: Sequence[Path],
    backend: str | None = None,
    tla_vars: Mapping[str, str] | None = None,
    natives: Natives | None = None,
) -> Any:
    """Evaluate Jsonnet `code` whose imports resolve in `roots`; the result as JSON data."""
    run = BACKENDS[backend_name(backend)]
    try:
        text = run(
            name,
            code,
            _Resolver(roots),
            tla_vars=dict(tla_vars or {}),
            native_callbacks=dict(natives or {}),
        )
    except RuntimeError as exc:
        raise TemplateError(f"template error: {str(exc).strip()}") from None
    return json.loads(text)


def map_forked(work: Callable[[int], bytes], count: int, workers: int) -> list[bytes]:
    """`[work(i) for i in range(count)]`, each call in a forked child, `workers` at a time.

    Children leave by os._exit, so the Jsonnet heap a child built is dropped with the process
    rather than walked. The first failure in index order is raised, as if run in order.
    """
    outputs: dict[int, bytes] = {}
    running: dict[int, tuple[int, int, list[bytes]]] = {}  # read fd -> (index, pid, received)
    pending = list(range(count - 1, -1, -1))
    with selectors.DefaultSelector() as selector:
        try:
            while pending or running:
                while pending and len(running) < workers:
                    index = pending.pop()
                    fd, pid = _fork(work, index)
                    running[fd] = (index, pid, [])
                    selector.register(fd, selectors.EVENT_READ)
                for key, _ in selector.select():
                    _receive(key.fd, running, outputs, selector)
        finally:
            for fd, (_, pid, _) in running.items():
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                os.close(fd)
    return [_outcome(outputs[index]) for index in range(count)]


def _fork(work: Callable[[int], bytes], index: int) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(work, index, write_fd)
    os.close(write_fd)
    return read_fd, pid


def _child(work: Callable[[int], bytes], index: int, fd: int) -> None:
    try:
        try:
            payload = b"0" + work(index)
        except TemplateError as exc:
            payload = b"1" + str(exc).encode()
        except BaseException as exc:  # noqa: BLE001 (reported by the parent, never raised here)
            payload = b"2" + f"{type(exc).__name__}: {exc}".encode()
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os._exit(0)


def _receive(
    fd: int,
    running: dict[int, tuple[int, int, list[bytes]]],
    outputs: dict[int, bytes],
    selector: selectors.BaseSelector,
) -> None:
    data = os.read(fd, 1 << 20)
    if data:
        running[fd][2].append(data)
        return
    index, pid, received = running.pop(fd)
    selector.unregister(fd)
    os.close(fd)
    os.waitpid(pid, 0)
    outputs[index] = b"".join(received)


def _outcome(output: bytes) -> bytes:
    kind, body = output[:1], output[1:]
    if kind == b"0":
        return body
    if kind == b"1":
        raise TemplateError(body.decode())
    raise RuntimeError(f"a render worker failed: {body.decode() or 'it died without a word'}")
