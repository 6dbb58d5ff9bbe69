"""Workload mixtures, as FLTK has them: arrival streams whose arrivals draw task and priority.

`spec.streams[]` is one arrival process; every arrival draws its task from `mix` and its
priority class from `priority` (both weighted), all from seeds derived from the experiment
seed and the stream's name. `spec.priorityClasses` declares the classes: name -> value, and
whether fltkc emits the PriorityClass (and, under Kueue, a WorkloadPriorityClass) or the
cluster already has it. A task named in a mix runs only through its streams unless it
declares `arrivals` itself.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fltkc import contract
from fltkc.compile.arrivals import MAX_TRACE_BYTES, arrival_offsets, parse_trace, plan_seed
from fltkc.compile.input_files import InputFileError, read_below
from fltkc.compile.load import Source
from fltkc.errors import CompileError, Diagnostic

if TYPE_CHECKING:
    from fltkc.compile.expand import Job
    from fltkc.compile.experiment import Experiment

MAX_NAME = 63


@dataclass(frozen=True)
class PriorityClass:
    name: str
    value: int
    create: bool  # emit the object; False: the cluster already has a class of this name
    description: str


@dataclass(frozen=True)
class Stream:
    index: int
    name: str
    arrivals: Mapping[str, Any]
    mix: tuple[tuple[str, float], ...]  # (task, weight)
    priority: tuple[tuple[str, float], ...]  # (class, weight); empty: no priority


@dataclass(frozen=True)
class StreamArrival:
    """One arrival of a stream: when, which task, which priority class (or none)."""

    stream: str
    index: int  # arrival number within the stream, in time order
    offset_seconds: float
    task: str
    priority: str | None


def read_priority_classes(spec: Mapping[str, Any]) -> tuple[PriorityClass, ...]:
    return tuple(
        PriorityClass(name, int(block["value"]), block.get("create", True),
                      block.get("description", f"fltkc priority class {name}"))
        for name, block in sorted(spec.get("priorityClasses", {}).items())
    )  # fmt: skip


def read_streams(spec: Mapping[str, Any]) -> tuple[Stream, ...]:
    return tuple(
        Stream(
            index=i,
            name=block["name"],
            arrivals=block["arrivals"],
            mix=tuple((m["task"], float(m.get("weight", 1))) for m in block["mix"]),
            priority=tuple(
                (p["class"], float(p.get("weight", 1))) for p in block.get("priority", [])
            ),
        )
        for i, block in enumerate(spec.get("streams", []))
    )


def stream_only_tasks(source: Source, streams: Sequence[Stream]) -> set[str]:
    """Tasks named in some mix that declare no arrivals of their own: no jobs but the streams'."""
    mixed = {task for s in streams for task, _ in s.mix}
    tasks = source.document["spec"]["tasks"]
    return {t["name"] for t in tasks if t["name"] in mixed and "arrivals" not in t}


def stream_issues(
    source: Source,
    streams: Sequence[Stream],
    classes: Sequence[PriorityClass],
    tasks: Mapping[str, Any],
) -> list[Diagnostic]:
    """References the schema cannot check: tasks and classes exist; a mixed task has one job."""
    known = {c.name for c in classes}
    issues = []
    for s in streams:
        where = ("spec", "streams", s.index)
        for i, (task, _) in enumerate(s.mix):
            spec = tasks.get(task)
            if spec is None:
                names = ", ".join(sorted(tasks))
                issues.append(
                    source.diag(
                        (*where, "mix", i, "task"), f"unknown task {task!r}; tasks: {names}"
                    )
                )
            elif "sweep" in spec:
                message = f"task {task} has a sweep; a mixed task runs one job per arrival"
                issues.append(source.diag((*where, "mix", i, "task"), message + ": drop its sweep"))
        for i, (name, _) in enumerate(s.priority):
            if name not in known:
                message = f"unknown priority class {name!r}; declare it in spec.priorityClasses"
                issues.append(source.diag((*where, "priority", i, "class"), message))
    seen: dict[str, int] = {}
    for s in streams:
        if s.name in seen or s.name in tasks:
            what = "stream" if s.name in seen else "task"
            issues.append(
                source.diag(
                    ("spec", "streams", s.index, "name"),
                    f"{s.name} is also a {what} name; rename the stream",
                )
            )
        seen[s.name] = s.index
    return issues


def _draw(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    """One weighted draw: the first choice whose cumulative weight passes u x total."""
    total = sum(w for _, w in choices)
    target = rng.random() * total
    running = 0.0
    for name, weight in choices:
        running += weight
        if target < running:
            return name
    return choices[-1][0]


def _offsets(source: Source, stream: Stream, seed: int) -> tuple[float, ...]:
    where = ("spec", "streams", stream.index, "arrivals")
    trace: tuple[float, ...] = ()
    if stream.arrivals["process"] == "trace":
        file = stream.arrivals["file"]
        display = str(Path(source.file).parent / file)
        try:  # as a task's trace (arrivals.read_traces): confined, size-capped, never a FIFO
            text = read_below(source.base_dir, file, MAX_TRACE_BYTES)
        except InputFileError as exc:
            message = f"cannot read trace file {display} ({exc})"
            raise CompileError([source.diag((*where, "file"), message)]) from None
        trace, problems = parse_trace(text, display)
        if problems:
            raise CompileError(problems)
    try:
        offsets = arrival_offsets(
            stream.arrivals, plan_seed(seed, "stream-arrivals", stream.name), trace
        )
    except ValueError as exc:
        raise CompileError([source.diag(where, str(exc))]) from None
    if not offsets:
        raise CompileError(
            [source.diag(where, "no arrivals before horizonSeconds; raise the rate or the horizon")]
        )
    return offsets


def stream_arrivals(source: Source, stream: Stream, seed: int) -> list[StreamArrival]:
    """Every arrival of the stream; task and priority from two seeded generators of their own,
    so adding a priority distribution leaves the task draws unchanged."""
    offsets = _offsets(source, stream, seed)
    tasks = random.Random(plan_seed(seed, "stream-mix", stream.name))
    priorities = random.Random(plan_seed(seed, "stream-priority", stream.name))
    return [
        StreamArrival(
            stream.name, a, offset, _draw(tasks, stream.mix),
            _draw(priorities, stream.priority) if stream.priority else None,
        )
        for a, offset in enumerate(offsets)
    ]  # fmt: skip


def arrival_name(experiment: str, arrival: StreamArrival, count: int) -> str:
    return f"{experiment}-{arrival.stream}-a{arrival.index:0{len(str(count - 1))}d}"


def stream_jobs(experiment: Experiment) -> list[Job]:
    """One job per arrival of every stream, of the task and priority class it drew."""
    from fltkc.compile.expand import Job, variant_config

    source = experiment.source
    spec_tasks = {t["name"]: t for t in source.document["spec"]["tasks"]}
    issues = stream_issues(source, experiment.streams, experiment.priority_classes, spec_tasks)
    if issues:
        raise CompileError(issues)
    tasks = {task.name: task for task in experiment.tasks}
    configs: dict[str, dict[str, Any]] = {}
    jobs: list[Job] = []
    for stream in experiment.streams:
        arrivals = stream_arrivals(source, stream, experiment.seed)
        for arrival in arrivals:
            task = tasks[arrival.task]
            name = arrival_name(experiment.name, arrival, len(arrivals))
            _check_length(source, stream, name, task.workers)
            if task.name not in configs:
                configs[task.name] = variant_config(experiment, task, {})
            seed = plan_seed(experiment.seed, "stream", stream.name, arrival.index)
            meta: dict[str, Any] = {"experiment": experiment.name, "task": task.name, "name": name}
            meta |= {"repetition": 0, "stream": stream.name}
            if arrival.priority is not None:
                meta["priority"] = arrival.priority
            jobs.append(
                Job(
                    name=name, task=task.name, sweep={}, repetition=0, arrival=arrival.index,
                    offset_seconds=arrival.offset_seconds, seed=seed, master=task.master,
                    workers=task.workers, worker=task.worker,
                    restart_policy=task.restart_policy, backoff_limit=task.backoff_limit,
                    suspend=experiment.release == "suspend" and arrival.offset_seconds > 0,
                    config={**configs[task.name], "job": meta, "seed": seed},
                    stream=stream.name, priority=arrival.priority,
                )
            )  # fmt: skip
    return jobs


def _check_length(source: Source, stream: Stream, name: str, workers: int) -> None:
    suffix = f"-worker-{workers - 1}" if workers > 0 else "-master-0"
    if len(name) + len(suffix) > MAX_NAME:
        message = f"job name {name}{suffix} is over {MAX_NAME} characters; shorten the stream name"
        raise CompileError([source.diag(("spec", "streams", stream.index, "name"), message)])


def priority_section(
    classes: Sequence[PriorityClass], labels: Mapping[str, str], kueue: bool
) -> dict[str, Any]:
    """The plan's `priorityClasses` section: the classes to emit, and under Kueue the same as
    WorkloadPriorityClasses (Kueue orders its queues by these, not by the pods' priority)."""
    emitted = [
        {"name": c.name, "value": c.value, "description": c.description, "labels": dict(labels)}
        for c in classes
        if c.create
    ]
    if not emitted:
        return {}  # the plan document of an experiment without classes stays as it was
    return {"priorityClasses": emitted, "workloadPriorityClasses": emitted if kueue else []}


def priority_value(classes: Sequence[PriorityClass], name: str | None) -> int | None:
    return next((c.value for c in classes if c.name == name), None)


def priority_labels(experiment: Experiment, job: Job) -> dict[str, str]:
    """Under Kueue, the WorkloadPriorityClass label; on the job and its pods, so the gate that
    holds back a suspended job's queue label leaves it in place."""
    if job.priority is None or experiment.queue_name is None:
        return {}
    return {contract.LABEL_KUEUE_PRIORITY: job.priority}


def priority_annotations(experiment: Experiment, job: Job) -> dict[str, str]:
    """The drawn class's value, which `fltkc run` orders its waiting jobs by."""
    value = priority_value(experiment.priority_classes, job.priority)
    return {} if value is None else {contract.ANNOTATION_PRIORITY: str(value)}
