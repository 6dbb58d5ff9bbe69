"""Read the trainer's files (metrics.jsonl, clients.jsonl, partition.json, result.json) and a
run's run.json."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fltkc import contract

RUN_FILE = "run.json"
UNKNOWN_TASK = "all"  # jobs whose task no file names share one figure
_TAIL_BYTES = 8192

Record = dict[str, Any]


def _parse_lines(text: str) -> list[Record]:
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # the line the trainer is still writing, or a torn copy
        if isinstance(record, dict):
            records.append(record)
    return records


def read_metrics(path: Path) -> list[Record]:
    """Every complete record of a metrics.jsonl file; none if it is missing."""
    try:
        return _parse_lines(path.read_text(encoding="utf-8", errors="replace"))
    except FileNotFoundError:
        return []


def last_metric(log_dir: Path) -> Record | None:
    """The newest complete record of a job's metrics.jsonl, reading only its tail."""
    try:
        with (log_dir / contract.METRICS_FILE).open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - _TAIL_BYTES))
            records = _parse_lines(fh.read().decode("utf-8", errors="replace"))
    except FileNotFoundError:
        return None
    return records[-1] if records else None


def read_json(path: Path) -> Record | None:
    """A JSON object from a file; None if missing or not (yet) a whole object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class JobMetrics:
    name: str
    task: str
    directory: Path  # the job's log directory
    metrics: tuple[Record, ...]
    result: Record | None  # result.json
    run: Record | None  # the job's entry in run.json
    clients: tuple[Record, ...] = ()  # clients.jsonl (federated)
    partition: Record | None = None  # partition.json (federated)

    def values(self, key: str, x: str = "step") -> list[tuple[float, float]]:
        """(x, value) for every record that has numbers under `x` and `key`."""
        return [
            (float(r[x]), float(r[key]))
            for r in self.metrics
            if isinstance(r.get(key), (int, float)) and isinstance(r.get(x), (int, float))
        ]

    @property
    def step_kind(self) -> str:
        kinds = {str(r.get("kind")) for r in self.metrics if r.get("kind")}
        return kinds.pop() if len(kinds) == 1 else "step"


@dataclass(frozen=True)
class RunMetrics:
    directory: Path
    run: Record | None  # run.json, when the run was local
    jobs: tuple[JobMetrics, ...]


def _task(name: str, directory: Path, result: Record | None, run: Record | None) -> str:
    for source in (run, result):
        if source and source.get("task"):
            return str(source["task"])
    config = read_json(directory / contract.CONFIG_KEY)
    job = config.get("job") if config else None
    if isinstance(job, dict) and job.get("task"):
        return str(job["task"])
    return UNKNOWN_TASK


def _job(directory: Path, run_entry: Record | None) -> JobMetrics:
    result = read_json(directory / contract.RESULT_FILE)
    name = str((run_entry or {}).get("name") or (result or {}).get("job") or directory.name)
    return JobMetrics(
        name=name,
        task=_task(name, directory, result, run_entry),
        directory=directory,
        metrics=tuple(read_metrics(directory / contract.METRICS_FILE)),
        result=result,
        run=run_entry,
        clients=tuple(read_metrics(directory / contract.CLIENTS_FILE)),
        partition=read_json(directory / contract.PARTITION_FILE),
    )


def _metric_dirs(root: Path) -> list[Path]:
    found = {
        p.parent for name in (contract.METRICS_FILE, contract.RESULT_FILE) for p in root.rglob(name)
    }
    return sorted(found)


def load_run(directory: Path) -> RunMetrics:
    """Every job under `directory`: from run.json where there is one, else by its files.

    Works on a local run directory and on a logs volume copied off the cluster
    (`kubectl cp`), which holds only the per-job directories.
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory; give a run or logs directory")
    run = read_json(directory / RUN_FILE)
    jobs: list[JobMetrics] = []
    seen: set[Path] = set()
    for entry in (run or {}).get("jobs") or []:
        log_dir = entry.get("logDir")
        if log_dir is None:  # the job never started
            name = str(entry.get("name", ""))
            jobs.append(JobMetrics(name, str(entry.get("task", name)), directory, (), None, entry))
            continue
        job_dir = (directory / log_dir).resolve()
        seen.add(job_dir)
        jobs.append(_job(job_dir, entry))
    for job_dir in _metric_dirs(directory):
        if job_dir.resolve() not in seen:
            jobs.append(_job(job_dir, None))
    return RunMetrics(directory, run, tuple(jobs))
