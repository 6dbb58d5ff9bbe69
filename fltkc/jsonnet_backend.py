"""The one adapter to Jsonnet: rjsonnet (default) or the official C++ binding, confined imports."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from fltkc.errors import FltkcError
from fltkc.resources import resource_dir

BACKEND_ENV = "FLTKC_JSONNET"
DEFAULT_BACKEND = "rjsonnet"
BUILTIN_PREFIX = "fltkc"  # `import 'fltkc/lib/x.libsonnet'` always reaches the shipped library


class TemplateError(FltkcError):
    """A template failed to import or evaluate; the message is Jsonnet's, one problem per line."""


def _rjsonnet(name: str, code: str, tla: dict[str, str], imports: Callable[..., Any]) -> str:
    import rjsonnet

    def callback(_dir: str, rel: str) -> tuple[str, str]:
        found, content = imports(rel)
        return found, content.decode("utf-8")

    # jrsonnet's cycle collector costs 4x the evaluation itself on large plans (measured by
    # bench/compile_bench.py); without it an evaluation's cyclic garbage stays until the
    # process exits, which suits a one-shot `fltkc build`.
    out: str = rjsonnet.evaluate_snippet(
        name, code, tla_codes=tla, import_callback=callback, gc=False
    )  # type: ignore[call-arg]  # the stub lacks `gc`; the binding takes it (help(rjsonnet))
    return out


def _cpp(name: str, code: str, tla: dict[str, str], imports: Callable[..., Any]) -> str:
    import _jsonnet

    out: str = _jsonnet.evaluate_snippet(
        name, code, tla_codes=tla, import_callback=lambda _dir, rel: imports(rel)
    )
    return out


BACKENDS: dict[str, Callable[[str, str, dict[str, str], Callable[..., Any]], str]] = {
    "rjsonnet": _rjsonnet,
    "cpp": _cpp,
}


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
    name = backend or os.environ.get(BACKEND_ENV, DEFAULT_BACKEND)
    run = BACKENDS.get(name)
    if run is None:
        valid = ", ".join(BACKENDS)
        raise TemplateError(
            f"unknown Jsonnet backend {name!r} ({BACKEND_ENV}); use one of: {valid}"
        )
    resolver = _Resolver(roots)
    try:
        found, code = resolver(main)
        text = run(found, code.decode("utf-8"), tla_codes, resolver)
    except RuntimeError as exc:
        raise TemplateError(f"template error: {str(exc).strip()}") from None
    return json.loads(text)
