"""The run record (run.json): what ran when, how it ended, where its logs are."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fltkc.local.supervisor import JobRun, JobStatus

RUN_FILE = "run.json"
RunStatus = str  # "running" | "succeeded" | "failed" | "interrupted"


@dataclass(frozen=True)
class JobOutcome:
    name: str
    status: JobStatus
    restarts: int
    start: float | None
    end: float | None
    failed_log: Path | None  # the log of the replica that made the job fail


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    run_dir: Path
    jobs: tuple[JobOutcome, ...]

    @property
    def failed(self) -> tuple[JobOutcome, ...]:
        return tuple(job for job in self.jobs if job.status == "failed")


@dataclass(frozen=True)
class RunInfo:
    experiment: str
    source: str
    started_at: str  # ISO 8601, UTC
    slots: int
    time_scale: float
    all_at_once: bool


def _rel(path: Path | None, run_dir: Path) -> str | None:
    return None if path is None else os.path.relpath(path, run_dir)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def job_record(run: JobRun, run_dir: Path) -> dict[str, Any]:
    """One job's entry: times in seconds since the run started, paths relative to run_dir."""
    spec = run.spec
    local = run.local
    return {
        "name": spec.name,
        "task": spec.task,
        "replicas": spec.total_replicas,
        "arrivalOffset": spec.arrival,
        "scheduledStart": _round(run.due),
        "start": _round(run.start),
        "end": _round(run.end),
        "status": run.status,
        "restarts": run.restarts,
        "masterPort": local.port if local else None,
        "logDir": _rel(local.log_dir if local else None, run_dir),
        "logs": {r.spec.replica: _rel(r.spec.log, run_dir) for r in run.replicas},
        "failedReplica": run.failed_replica.spec.replica if run.failed_replica else None,
        "processes": [
            {
                "replica": a.replica,
                "pid": a.pid,
                "start": _round(a.start),
                "end": _round(a.end),
                "exitCode": a.exit_code,
            }
            for r in run.replicas
            for a in r.attempts
        ],
    }


def run_status(runs: Sequence[JobRun]) -> RunStatus:
    statuses = {run.status for run in runs}
    if "interrupted" in statuses:
        return "interrupted"
    if statuses - {"succeeded", "failed"}:
        return "running"
    return "failed" if "failed" in statuses else "succeeded"


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace `path` in one step, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_record(info: RunInfo, runs: Sequence[JobRun], run_dir: Path, now: float) -> None:
    write_json_atomic(
        run_dir / RUN_FILE,
        {
            "experiment": info.experiment,
            "source": info.source,
            "startedAt": info.started_at,
            "slots": info.slots,
            "timeScale": info.time_scale,
            "allAtOnce": info.all_at_once,
            "status": run_status(runs),
            "elapsedSeconds": _round(now),
            "jobs": [job_record(run, run_dir) for run in runs],
        },
    )


def outcome(runs: Sequence[JobRun], run_dir: Path) -> RunResult:
    jobs = tuple(
        JobOutcome(
            name=run.name,
            status=run.status,
            restarts=run.restarts,
            start=run.start,
            end=run.end,
            failed_log=run.failed_replica.spec.log if run.failed_replica else None,
        )
        for run in runs
    )
    return RunResult(run_status(runs), run_dir, jobs)
