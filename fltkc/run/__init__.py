"""`fltkc run`: execute a built experiment's PyTorchJobs as local processes."""

from __future__ import annotations

from fltkc.run.manifests import ManifestError, OutDir, read_out_dir
from fltkc.run.record import JobOutcome, RunResult
from fltkc.run.runner import RunOptions, run_experiment

__all__ = [
    "JobOutcome",
    "ManifestError",
    "OutDir",
    "RunOptions",
    "RunResult",
    "read_out_dir",
    "run_experiment",
]
