"""Size limits checked before the work they bound: jobs per experiment, bytes per ConfigMap."""

from __future__ import annotations

import math
from collections.abc import Mapping

from fltkc.compile.experiment import Experiment
from fltkc.compile.load import Source
from fltkc.errors import Diagnostic

MAX_JOBS = 100_000
# The API server refuses a ConfigMap whose data and binaryData, keys and values together, pass
# 1 MiB (k8s.io/kubernetes pkg/apis/core/validation: MaxSecretSize).
CONFIGMAP_BYTES = 1 << 20


def job_count_diagnostics(experiment: Experiment, arrivals: Mapping[int, int]) -> list[Diagnostic]:
    """Refuse, before any job is built, a plan over MAX_JOBS jobs.

    `arrivals` is each task's arrival count (drawn already: at most MAX_ARRIVALS each). The count
    is exact, and computed without building a single sweep point, so a grid of 10^9 points
    costs nothing; a task over the limit is named at its sweep, a sum over it at spec.tasks.
    """
    source = experiment.source
    diagnostics: list[Diagnostic] = []
    total = 0
    for task in experiment.tasks:
        points = math.prod(len(values) for _, values in task.grid)
        count = points * task.repetitions * arrivals.get(task.index, 0)
        total += count
        if count > MAX_JOBS:
            message = (
                f"{points} sweep points x {task.repetitions} repetitions x "
                f"{arrivals[task.index]} arrivals = {count} jobs, over the limit of {MAX_JOBS}; "
                "sweep fewer values or repetitions"
            )
            diagnostics.append(source.diag(("spec", "tasks", task.index, "sweep"), message))
    if total > MAX_JOBS and not diagnostics:
        message = f"{total} jobs; at most {MAX_JOBS}: fewer arrivals, sweep points or repetitions"
        diagnostics.append(source.diag(("spec", "tasks"), message))
    return diagnostics


def configmap_bytes(data: Mapping[str, str]) -> int:
    """What the API server counts against CONFIGMAP_BYTES: every key and value, in bytes."""
    return sum(len(key.encode()) + len(value.encode()) for key, value in data.items())


def schedule_diagnostics(source: Source, key: str, schedule: str, jobs: int) -> list[Diagnostic]:
    """The release schedule travels in one ConfigMap: refuse a plan whose schedule won't fit."""
    size = configmap_bytes({key: schedule})
    if size <= CONFIGMAP_BYTES:
        return []
    fits = jobs * CONFIGMAP_BYTES // size
    message = (
        f"the release schedule of {jobs} jobs is {size} bytes, over Kubernetes' limit of "
        f"{CONFIGMAP_BYTES} bytes (1 MiB) for its ConfigMap, about {fits} jobs here; "
        "use fewer jobs or split the experiment into several files"
    )
    return [source.diag(("spec", "tasks"), message)]
