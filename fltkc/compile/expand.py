"""Expand stage: tasks x sweep points x repetitions x arrivals -> one concrete job each."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from jsonschema import Draft202012Validator

from fltkc import contract
from fltkc.compile.arrivals import arrival_offsets, plan_seed
from fltkc.compile.client_traces import resolve_traces
from fltkc.compile.experiment import Experiment, Hardware, Task
from fltkc.compile.limits import job_count_diagnostics, schedule_diagnostics
from fltkc.compile.streams import stream_jobs, stream_only_tasks
from fltkc.compile.validate import explain, strict_validator
from fltkc.contract.checks import config_issues
from fltkc.contract.datafiles import TRAINER_CONFIG_SCHEMA, load_schema
from fltkc.contract.defaults import complete_config
from fltkc.errors import CompileError, Diagnostic, Path

MAX_NAME = 63  # DNS-1035 label, which the operator's `<job>-worker-<i>` pod names must also fit


@dataclass(frozen=True)
class Job:
    """One PyTorchJob with everything settled: name, seed, arrival, hardware and trainer config."""

    name: str
    task: str
    sweep: Mapping[str, Any]
    repetition: int
    arrival: int
    offset_seconds: float
    seed: int
    master: Hardware
    workers: int
    worker: Hardware
    restart_policy: str
    backoff_limit: int
    suspend: bool
    config: Mapping[str, Any]
    stream: str | None = None  # the arrival stream that drew this job (spec.streams)
    priority: str | None = None  # its priority class (spec.priorityClasses)


@dataclass(frozen=True)
class Plan:
    """The expanded experiment: what `render` places into manifests."""

    experiment: Experiment
    jobs: tuple[Job, ...]

    def schedule(self) -> dict[str, Any]:
        """The release schedule (format in fltkc.contract), jobs by (offset, name)."""
        jobs = sorted(self.jobs, key=lambda j: (j.offset_seconds, j.name))
        return {
            "experiment": self.experiment.name,
            "seed": self.experiment.seed,
            "jobs": [
                {
                    "name": j.name,
                    "task": j.task,
                    "offsetSeconds": j.offset_seconds,
                    "replicas": 1 + j.workers,
                }
                for j in jobs
            ],
        }

    @cached_property  # expand checks its size, render and package place it: encoded once
    def schedule_json(self) -> str:
        """The schedule as out/schedule.json and its ConfigMap hold it (compact: 1 MiB max)."""
        return json.dumps(self.schedule(), sort_keys=True, separators=(",", ":")) + "\n"


def expand(experiment: Experiment) -> Plan:
    """All jobs of the experiment, deterministic in its content and seed."""
    diagnostics: list[Diagnostic] = []
    offsets: dict[int, tuple[float, ...]] = {}
    only_streamed = stream_only_tasks(experiment.source, experiment.streams)
    for task in experiment.tasks:
        if task.name in only_streamed:
            continue
        try:
            offsets[task.index] = _task_offsets(experiment, task)
        except CompileError as exc:
            diagnostics += exc.diagnostics
    too_many = job_count_diagnostics(experiment, {i: len(o) for i, o in offsets.items()})
    if too_many:
        raise CompileError(diagnostics + too_many)
    jobs: list[Job] = []
    for task in experiment.tasks:
        try:
            if task.index in offsets:
                jobs += _task_jobs(experiment, task, offsets[task.index])
        except CompileError as exc:
            diagnostics += exc.diagnostics
    try:
        jobs += stream_jobs(experiment)
    except CompileError as exc:
        diagnostics += exc.diagnostics
    diagnostics += _name_clashes(experiment, jobs)
    if diagnostics:
        raise CompileError(diagnostics)
    plan = Plan(experiment, tuple(jobs))
    key = contract.SCHEDULE_FILE
    too_large = schedule_diagnostics(experiment.source, key, plan.schedule_json, len(jobs))
    if too_large:
        raise CompileError(too_large)
    return plan


def _name_clashes(experiment: Experiment, jobs: list[Job]) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    seen: dict[str, str] = {}
    for job in jobs:
        if job.name in seen and seen[job.name] != job.task:
            path = ("spec", "tasks", _task_index(experiment, job.task), "name")
            message = f"job name {job.name} is also a job of task {seen[job.name]}; rename a task"
            diagnostics.append(experiment.source.diag(path, message))
        seen.setdefault(job.name, job.task)
    return diagnostics


def _task_index(experiment: Experiment, name: str) -> int:
    return next(t.index for t in experiment.tasks if t.name == name)


def _task_offsets(experiment: Experiment, task: Task) -> tuple[float, ...]:
    where = ("spec", "tasks", task.index, "arrivals")
    source = experiment.source
    try:
        offsets = arrival_offsets(
            task.arrivals, plan_seed(experiment.seed, "arrivals", task.name), task.trace
        )
    except ValueError as exc:
        raise CompileError([source.diag(where, str(exc))]) from None
    if not offsets:
        message = "no arrivals before horizonSeconds; raise the rate or the horizon"
        raise CompileError([source.diag(where, message)])
    return offsets


def _task_jobs(experiment: Experiment, task: Task, offsets: tuple[float, ...]) -> list[Job]:
    points = _grid_points(task)
    names = _job_names(experiment.name, task, len(points), len(offsets))
    # The last index of every dimension gives the longest name.
    _check_name_length(
        experiment, task, names(len(points) - 1, task.repetitions - 1, len(offsets) - 1)
    )
    jobs: list[Job] = []
    for p, point in enumerate(points):
        base = _variant_config(experiment, task, point)
        for r, a in itertools.product(range(task.repetitions), range(len(offsets))):
            name = names(p, r, a)
            seed = _job_seed(experiment.seed, task, p, r, a)
            job_meta = {"experiment": experiment.name, "task": task.name, "name": name}
            job_meta.update({"repetition": r, "sweep": point} if task.grid else {"repetition": r})
            jobs.append(
                Job(
                    name=name,
                    task=task.name,
                    sweep=point,
                    repetition=r,
                    arrival=a,
                    offset_seconds=offsets[a],
                    seed=seed,
                    master=task.master,
                    workers=task.workers,
                    worker=task.worker,
                    restart_policy=task.restart_policy,
                    backoff_limit=task.backoff_limit,
                    suspend=experiment.release == "suspend" and offsets[a] > 0,
                    config={**base, "job": job_meta, "seed": seed},
                )
            )
    return jobs


def _job_seed(seed: int, task: Task, point: int, repetition: int, arrival: int) -> int:
    """FLTK_SEED of one job. Unless seedPerPoint, every point takes point 0's seed, so a grid
    compares its values under one init, partition and client sampling per repetition (and a
    task without a grid keeps the seeds it always had). Arrivals are separate runs: their own."""
    shared = point if task.seed_per_point else 0
    return plan_seed(seed, "job", task.name, shared, repetition, arrival)


def _grid_points(task: Task) -> list[dict[str, Any]]:
    keys = [key for key, _ in task.grid]
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(v for _, v in task.grid))
    ]


def _job_names(experiment: str, task: Task, points: int, arrivals: int) -> Any:
    def width(n: int) -> int:
        return len(str(n - 1))

    def name(p: int, r: int, a: int) -> str:
        out = f"{experiment}-{task.name}"
        if points > 1:
            out += f"-s{p:0{width(points)}d}"
        if task.repetitions > 1:
            out += f"-r{r:0{width(task.repetitions)}d}"
        if arrivals > 1:
            out += f"-a{a:0{width(arrivals)}d}"
        return out

    return name


def _check_name_length(experiment: Experiment, task: Task, longest: str) -> None:
    suffix = f"-worker-{task.workers - 1}" if task.workers > 0 else "-master-0"
    if len(longest) + len(suffix) <= MAX_NAME:
        return
    room = MAX_NAME - len(suffix) - (len(longest) - len(task.name))
    message = (
        f"job name {longest} plus the pod suffix {suffix} is {len(longest) + len(suffix)} "
        f"characters, over {MAX_NAME}; shorten this task name to at most {max(room, 0)} "
        "characters or shorten metadata.name"
    )
    raise CompileError([experiment.source.diag(("spec", "tasks", task.index, "name"), message)])


@cache
def _trainer_validator() -> Draft202012Validator:
    return strict_validator(load_schema(TRAINER_CONFIG_SCHEMA))


def _variant_config(experiment: Experiment, task: Task, point: Mapping[str, Any]) -> dict[str, Any]:
    training = copy.deepcopy(dict(task.training))
    problems = [p for key, value in point.items() if (p := _set_path(training, key, value))]
    if not problems and task.client_traces:
        here: Path = ("spec", "tasks", task.index)
        resolve_traces(training, task.client_traces, experiment.source, here)
    config = complete_config(training)
    if not problems:
        problems = _config_problems(config)
    if problems:
        shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
        message = f"sweep point ({shown}) gives an invalid trainer config: {'; '.join(problems)}"
        where = ("spec", "tasks", task.index, "sweep", "grid")
        raise CompileError([experiment.source.diag(where, message)])
    return config


# Stream jobs (fltkc.compile.streams) complete and check their configs the same way.
variant_config = _variant_config


def _config_problems(config: dict[str, Any]) -> list[str]:
    sample = {**config, "job": {"experiment": "x", "task": "x", "name": "x"}, "seed": 0}
    problems = [
        f"{'.'.join(map(str, e.absolute_path)) or 'config'}: {explain(e)}"
        for e in _trainer_validator().iter_errors(sample)
    ]
    if not problems:  # the catalog's rules read a schema-valid config
        problems = [f"{'.'.join(map(str, p))}: {m}" for p, m in config_issues(config)]
    return sorted(problems)


def _set_path(target: dict[str, Any], path: str, value: Any) -> str | None:
    """Set a dotted path in place; the problem if it crosses a non-mapping."""
    *parents, last = path.split(".")
    for key in parents:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            return f"{path}: {key} is not a mapping"
    target[last] = value
    return None
