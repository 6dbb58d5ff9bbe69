"""The local runner (`fltkc run`): a built experiment's jobs as local processes."""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use (PEP 562), so that registering the CLI commands in fltkc.cli does not
# load the runner into every `fltkc build`.
_EXPORTS = {
    "JobOutcome": "fltkc.local.record",
    "ManifestError": "fltkc.local.outdir",
    "OutDir": "fltkc.local.outdir",
    "RunOptions": "fltkc.local.runner",
    "RunResult": "fltkc.local.record",
    "read_out_dir": "fltkc.local.outdir",
    "run_experiment": "fltkc.local.runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
