"""Read a run: the trainer's files per job (metrics.jsonl, result.json, job.json, ranks/,
and for federated jobs clients.jsonl and partition.json), run.json (local), release.json
(cluster), out/."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fltkc import contract
from fltkc.results.planned import BuildPlan, PlannedJob, read_plan

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
    directory: Path  # the job's log directory (the run's for a job that never started)
    metrics: tuple[Record, ...]
    result: Record | None  # result.json
    run: Record | None  # the job's entry in run.json
    info: Record | None = None  # job.json, written by rank 0 at start
    ranks: tuple[Record, ...] = ()  # ranks/<rank>.json, one per rank that started
    planned: PlannedJob | None = None  # the job as the build in out/ planned it
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

    def job_block(self) -> Record:
        """The trainer config's job block: job.json's copy first, else the build's."""
        for config in ((self.info or {}).get("config"), self.planned and self.planned.config):
            if isinstance(config, dict) and isinstance(config.get("job"), dict):
                return dict(config["job"])
        return {}

    @property
    def point(self) -> dict[str, Any]:
        """The sweep point this job ran: parameter path -> value ({} outside a sweep)."""
        sweep = (self.info or {}).get("sweep")
        if not isinstance(sweep, dict):
            sweep = self.job_block().get("sweep")
        return dict(sweep) if isinstance(sweep, dict) else {}

    @property
    def repetition(self) -> int | None:
        value = (self.info or {}).get("repetition", self.job_block().get("repetition"))
        return value if isinstance(value, int) else None

    @property
    def seed(self) -> int | None:
        config = self.planned.config if self.planned else None
        for source in (self.info, self.result, config):
            if source and isinstance(source.get("seed"), int):
                return int(source["seed"])
        return None

    @property
    def started(self) -> bool:
        return bool(self.metrics or self.result or self.info or self.ranks or self.run)


@dataclass(frozen=True)
class RunMetrics:
    directory: Path
    run: Record | None  # run.json, when the run was local
    jobs: tuple[JobMetrics, ...]
    release: Record | None = None  # the release Job's state file, on a cluster's logs volume
    plan: BuildPlan | None = None  # the build's out/, when there is one


def _task(directory: Path, *sources: Record | None) -> str:
    for source in sources:
        if source and source.get("task"):
            return str(source["task"])
    config = read_json(directory / contract.CONFIG_KEY)
    job = config.get("job") if config else None
    if isinstance(job, dict) and job.get("task"):
        return str(job["task"])
    return UNKNOWN_TASK


def _ranks(directory: Path) -> tuple[Record, ...]:
    records = (read_json(p) for p in sorted((directory / contract.RANKS_DIR).glob("*.json")))
    return tuple(r for r in records if r is not None)


def _job(directory: Path, run_entry: Record | None, plan: BuildPlan | None) -> JobMetrics:
    result = read_json(directory / contract.RESULT_FILE)
    info = read_json(directory / contract.JOB_FILE)
    name = str(
        (run_entry or {}).get("name")
        or (result or {}).get("job")
        or (info or {}).get("name")
        or directory.name
    )
    planned = plan.job(name) if plan else None
    planned_task = {"task": planned.task} if planned else None
    return JobMetrics(
        name=name,
        task=_task(directory, run_entry, info, result, planned_task),
        directory=directory,
        metrics=tuple(read_metrics(directory / contract.METRICS_FILE)),
        result=result,
        run=run_entry,
        info=info,
        ranks=_ranks(directory),
        planned=planned,
        clients=tuple(read_metrics(directory / contract.CLIENTS_FILE)),
        partition=read_json(directory / contract.PARTITION_FILE),
    )


def _scan(root: Path) -> tuple[list[Path], list[Path]]:
    """The job directories, and the release's state files shallowest first, in one walk: a
    logs volume holds thousands of jobs, and a walk per file name took seconds."""
    names = {contract.METRICS_FILE, contract.RESULT_FILE, contract.JOB_FILE}
    jobs: set[Path] = set()
    states: list[Path] = []
    for folder, _, files in os.walk(root):
        here = Path(folder)
        if not names.isdisjoint(files):
            jobs.add(here)
        ranks = here != root and here.name == contract.RANKS_DIR
        if ranks and any(f.endswith(".json") for f in files):
            jobs.add(here.parent)
        if contract.RELEASE_STATE_FILE in files:
            states.append(here / contract.RELEASE_STATE_FILE)
    return sorted(jobs), sorted(states, key=lambda p: (len(p.parts), p))


def find_release_state(paths: list[Path]) -> Record | None:
    """The first of `paths` that holds the release's state: at the top of a copied logs folder,
    or the shallowest below."""
    for path in paths:
        state = read_json(path)
        if state and isinstance(state.get("jobs"), dict) and "startTime" in state:
            return state
    return None


def find_plan(directory: Path, run: Record | None, out_dir: Path | None) -> BuildPlan | None:
    """The build: --out, else the run's out/ (fltkc run builds into it), else run.json's source."""
    candidates = [out_dir] if out_dir else [directory / "out"]
    source = (run or {}).get("source")
    if out_dir is None and isinstance(source, str) and source:
        candidates.append(Path(source))
    for candidate in candidates:
        if candidate.is_dir() and (plan := read_plan(candidate)) is not None:
            return plan
    return None


def load_run(directory: Path, out_dir: Path | None = None) -> RunMetrics:
    """Every job under `directory`: from run.json where there is one, else by its files, and
    every job the build planned that left no files at all (it never started).

    Works on a local run directory and on a logs volume copied off the cluster
    (`kubectl cp`), which holds the release's state file and the per-job directories.
    """
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory; give a run or logs directory")
    run = read_json(directory / RUN_FILE)
    plan = find_plan(directory, run, out_dir)
    jobs: list[JobMetrics] = []
    seen: set[Path] = set()
    for entry in (run or {}).get("jobs") or []:
        log_dir = entry.get("logDir")
        if log_dir is None:  # the job never started
            jobs.append(_missing(directory, str(entry.get("name", "")), plan, entry))
            continue
        job_dir = (directory / log_dir).resolve()
        seen.add(job_dir)
        jobs.append(_job(job_dir, entry, plan))
    job_dirs, states = _scan(directory)
    for job_dir in job_dirs:
        if job_dir.resolve() not in seen:
            jobs.append(_job(job_dir, None, plan))
    release = find_release_state(states)
    names = {job.name for job in jobs}
    expected = [p.name for p in plan.jobs] if plan else []
    expected += sorted((release or {}).get("jobs") or {})  # released, yet left no files
    tasks = {job.task for job in jobs}
    for name in expected:
        if name not in names:
            names.add(name)
            task = task_from_name(name, str((release or {}).get("experiment", "")), tasks)
            jobs.append(_missing(directory, name, plan, {"name": name, "task": task}))
    return RunMetrics(directory, run, tuple(jobs), release, plan)


def task_from_name(name: str, experiment: str, tasks: set[str]) -> str | None:
    """A job's task from its name, `<experiment>-<task>[-s<i>][-r<i>][-a<i>]` as fltkc build
    names jobs, when that task is one of `tasks`; for a job that left no files at all."""
    stem = re.sub(r"(-[sra][0-9]+)+$", "", name)
    task = stem.removeprefix(f"{experiment}-")
    return task if task in tasks else None


def _missing(directory: Path, name: str, plan: BuildPlan | None, entry: Record) -> JobMetrics:
    """A job that left no files; `entry` is its run.json entry, or just its name and task."""
    planned = plan.job(name) if plan else None
    task = str(entry.get("task") or (planned.task if planned else UNKNOWN_TASK))
    run_entry = entry if "status" in entry else None
    return JobMetrics(name, task, directory, (), None, run_entry, planned=planned)
