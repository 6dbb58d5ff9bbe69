"""Scheduling metrics: per job arrival, release, start and finish; per class JCT and queueing.

Times are seconds after the experiment's origin. A local run takes them from run.json (the
runner's clock; arrivals already divided by --time-scale). A logs volume copied off a cluster
takes them from the release's state file (origin: its startTime; each job's offset and the
moment it was un-suspended) and each job's ranks/<rank>.json (first rank start, last rank
end), all wall-clock epoch seconds. Without a release state file every job was submitted at
`kubectl apply`; the origin is then the first rank's start, so queueing delays are lower bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fltkc.results.records import JobMetrics, Record, RunMetrics
from fltkc.results.table import number

FINAL = ("succeeded", "failed", "interrupted")


@dataclass(frozen=True)
class JobTimes:
    name: str
    task: str
    priority: str | None
    replicas: int | None
    status: str
    arrival: float | None
    release: float | None  # when the release un-suspended it (None: never suspended)
    start: float | None  # the first rank running
    finish: float | None  # the last rank ended

    @property
    def job_class(self) -> str:
        return self.task if self.priority is None else f"{self.task}/{self.priority}"

    @property
    def queueing(self) -> float | None:
        return _minus(self.start, self.arrival)

    @property
    def jct(self) -> float | None:
        """Job completion time: finish - arrival."""
        return _minus(self.finish, self.arrival)

    @property
    def run_time(self) -> float | None:
        return _minus(self.finish, self.start)


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 6)


@dataclass(frozen=True)
class Timeline:
    source: str  # what the times were read from, for the report
    origin: float | None  # epoch seconds of time 0, where known
    jobs: tuple[JobTimes, ...]
    slots: int | None  # capacity in replicas, where known (a local run's --slots)
    time_scale: float | None = None  # a local run's --time-scale

    @property
    def makespan(self) -> float | None:
        """Last finish minus first arrival."""
        finishes = [j.finish for j in self.jobs if j.finish is not None]
        arrivals = [j.arrival for j in self.jobs if j.arrival is not None]
        return round(max(finishes) - min(arrivals), 6) if finishes and arrivals else None


def job_priority(job: JobMetrics) -> str | None:
    """The job's priority class, where its trainer config's job block names one."""
    priority = job.job_block().get("priority")
    return str(priority) if isinstance(priority, str) else None


def _replicas(job: JobMetrics) -> int | None:
    for value in (
        (job.run or {}).get("replicas"),
        job.planned.replicas if job.planned else None,
        *(r.get("worldSize") for r in job.ranks),
    ):
        if isinstance(value, int):
            return value
    return None


def from_run_record(run: Record, jobs: Sequence[JobMetrics]) -> Timeline:
    """A local run: the runner submits each job at its scaled arrival (its release)."""
    times = []
    for job in jobs:
        entry = job.run or {}
        arrival = number(entry.get("scheduledStart"))
        status = str(entry.get("status") or "unknown")
        times.append(
            JobTimes(
                job.name, job.task, job_priority(job), _replicas(job), status,
                arrival=arrival,
                release=arrival,
                start=number(entry.get("start")),
                finish=number(entry.get("end")) if status in FINAL else None,
            )
        )  # fmt: skip
    slots = entry_int(run.get("slots"))
    return Timeline("run.json", None, tuple(times), slots, number(run.get("timeScale")))


def entry_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _attempts(job: JobMetrics) -> list[Record]:
    return [a for r in job.ranks for a in r.get("attempts") or [] if isinstance(a, dict)]


def _cluster_status(job: JobMetrics) -> tuple[str, float | None]:
    """The status and the epoch time of the last rank's end (None while a rank still runs)."""
    lasts = [r["attempts"][-1] for r in job.ranks if r.get("attempts")]
    ended = [a for a in lasts if number(a.get("end")) is not None]
    finish = max(float(a["end"]) for a in ended) if lasts and len(ended) == len(lasts) else None
    if job.result is not None:
        return "succeeded", finish
    if not lasts:
        return ("incomplete" if job.started else "not started"), None
    if finish is None:
        return "running", None
    return ("succeeded" if all(a.get("exitCode") == 0 for a in lasts) else "failed"), finish


def from_cluster(release: Record | None, jobs: Sequence[JobMetrics]) -> Timeline:
    """A logs volume: the release's state file and every job's rank records."""
    starts = [float(a["start"]) for j in jobs for a in _attempts(j) if number(a.get("start"))]
    origin = number((release or {}).get("startTime"))
    if origin is None:
        origin = min(starts, default=None)
    handled = (release or {}).get("jobs") or {}
    times = []
    for job in jobs:
        entry = handled.get(job.name) if isinstance(handled, dict) else None
        entry = entry if isinstance(entry, dict) else {}
        offset = number(entry.get("offsetSeconds"))
        if offset is None:
            planned = job.planned.offset_seconds if job.planned else None
            offset = planned if release is not None else 0.0
        released = entry.get("action") == "released" and number(entry.get("at")) is not None
        status, finish = _cluster_status(job)
        first = min(
            (float(a["start"]) for a in _attempts(job) if number(a.get("start"))), default=None
        )
        times.append(
            JobTimes(
                job.name, job.task, job_priority(job), _replicas(job), status,
                arrival=offset,
                release=_since(float(entry["at"]), origin) if released else None,
                start=_since(first, origin),
                finish=_since(finish, origin),
            )
        )  # fmt: skip
    source = "release.json and ranks/" if release is not None else "ranks/ (no release.json)"
    return Timeline(source, origin, tuple(times), None)


def _since(epoch: float | None, origin: float | None) -> float | None:
    return None if epoch is None or origin is None else round(epoch - origin, 6)


def timeline(results: RunMetrics, slots: int | None = None) -> Timeline | None:
    """The run's timeline from run.json, else from the cluster's records; None without times."""
    if results.run and results.run.get("jobs"):
        found = from_run_record(results.run, results.jobs)
    elif results.release is not None or any(job.ranks for job in results.jobs):
        found = from_cluster(results.release, results.jobs)
    else:
        return None
    if slots is not None:
        found = Timeline(found.source, found.origin, found.jobs, slots, found.time_scale)
    return found
