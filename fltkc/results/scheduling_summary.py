"""Per task class: job completion time and queueing delay (mean, p50/p90/p99); utilisation."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fltkc.results.scheduling import JobTimes, Timeline
from fltkc.results.stats import percentile
from fltkc.results.table import align, csv_value

PERCENTILES = (50, 90, 99)
ALL = "(all)"  # the row over every class; "all" is already the unknown task


@dataclass(frozen=True)
class Spread:
    n: int
    mean: float
    p50: float
    p90: float
    p99: float


def spread(values: Sequence[float]) -> Spread | None:
    if not values:
        return None
    p50, p90, p99 = (percentile(values, q) or 0.0 for q in PERCENTILES)
    return Spread(len(values), sum(values) / len(values), p50, p90, p99)


@dataclass(frozen=True)
class ClassRow:
    job_class: str  # a task, task/priority, or "all"
    jobs: int
    finished: int
    jct: Spread | None
    queueing: Spread | None
    run_time: Spread | None


def _row(name: str, jobs: Sequence[JobTimes]) -> ClassRow:
    def values(attr: str) -> list[float]:
        return [v for j in jobs if (v := getattr(j, attr)) is not None]

    finished = sum(j.finish is not None for j in jobs)
    return ClassRow(
        name, len(jobs), finished, spread(values("jct")), spread(values("queueing")),
        spread(values("run_time")),
    )  # fmt: skip


def class_rows(timeline: Timeline) -> list[ClassRow]:
    """One row per job class (task, or task/priority; sorted), one per priority across tasks
    (`*/<priority>`) where jobs drew priorities, then one for every job when there are several."""
    classes: dict[str, list[JobTimes]] = {}
    priorities: dict[str, list[JobTimes]] = {}
    for job in timeline.jobs:
        classes.setdefault(job.job_class, []).append(job)
        if job.priority is not None:
            priorities.setdefault(f"*/{job.priority}", []).append(job)
    rows = [_row(name, jobs) for name, jobs in sorted(classes.items())]
    if len(classes) > len(priorities) > 0:
        rows += [_row(name, jobs) for name, jobs in sorted(priorities.items())]
    if len(classes) > 1:
        rows.append(_row(ALL, timeline.jobs))
    return rows


def busy_steps(timeline: Timeline) -> list[tuple[float, int]]:
    """(time, replicas running from then on), at every start and finish, in time order."""
    events: dict[float, int] = {}
    for job in timeline.jobs:
        if job.start is None or not job.replicas:
            continue
        events[job.start] = events.get(job.start, 0) + job.replicas
        if job.finish is not None:
            events[job.finish] = events.get(job.finish, 0) - job.replicas
    steps, busy = [], 0
    for at in sorted(events):
        busy += events[at]
        steps.append((at, busy))
    return steps


def mean_utilisation(timeline: Timeline) -> float | None:
    """Replica-seconds used over slots x the span from the first arrival to the last finish."""
    span, slots = timeline.makespan, timeline.slots
    steps = busy_steps(timeline)
    if not span or not slots or not steps:
        return None
    used = sum((b[0] - a[0]) * a[1] for a, b in zip(steps, steps[1:], strict=False))
    return used / (slots * span)


def _cell(spread_: Spread | None, attr: str) -> str:
    return "-" if spread_ is None else f"{getattr(spread_, attr):.1f}"


def format_classes(timeline: Timeline) -> str:
    """The class table, then makespan and utilisation."""
    header = ["class", "jobs", "finished"]
    header += [f"{m}_{s}" for m in ("jct", "queue") for s in ("mean", "p50", "p90", "p99")]
    header += ["run_mean"]
    lines = [header]
    for row in class_rows(timeline):
        cells = [row.job_class, str(row.jobs), str(row.finished)]
        for spread_ in (row.jct, row.queueing):
            cells += [_cell(spread_, s) for s in ("mean", "p50", "p90", "p99")]
        lines.append([*cells, _cell(row.run_time, "mean")])
    notes = [f"seconds; times from {timeline.source}"]
    if timeline.time_scale and timeline.time_scale != 1:
        notes.append(f"this run's clock: arrivals divided by --time-scale {timeline.time_scale:g}")
    span = timeline.makespan
    notes.append(f"makespan {span:.1f} s" if span is not None else "makespan -")
    if (use := mean_utilisation(timeline)) is not None:
        notes.append(f"mean utilisation {use:.0%} of {timeline.slots} slots")
    return align(lines) + "\n" + "; ".join(notes)


JOB_COLUMNS = (
    "job", "task", "priority", "replicas", "status", "arrival", "release", "start", "finish",
    "queueing_delay", "jct", "run_time",
)  # fmt: skip


def write_scheduling_csv(timeline: Timeline, path: Path) -> None:
    """One row per job, its times and the delays derived from them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(JOB_COLUMNS)
        for j in timeline.jobs:
            values = (
                j.name, j.task, j.priority, j.replicas, j.status, j.arrival, j.release, j.start,
                j.finish, j.queueing, j.jct, j.run_time,
            )  # fmt: skip
            writer.writerow([csv_value(v) for v in values])
