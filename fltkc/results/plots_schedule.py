"""Scheduling figures: the per-job timeline and the cluster (or slot) utilisation over time."""

from __future__ import annotations

from pathlib import Path

from fltkc.results.plots_common import pyplot, save
from fltkc.results.scheduling import Timeline
from fltkc.results.scheduling_summary import busy_steps, mean_utilisation

STATUS_COLOURS = {"succeeded": "tab:green", "failed": "tab:red", "interrupted": "tab:orange"}


def _end(timeline: Timeline) -> float:
    times = [t for j in timeline.jobs for t in (j.arrival, j.release, j.start, j.finish) if t]
    return max(times, default=0.0)


def plot_timeline(timeline: Timeline, path: Path) -> Path:
    """Per job: arrival (dot), release (cross), waiting (thin line), running (bar by status)."""
    plt = pyplot()
    jobs = timeline.jobs
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(jobs) + 1.8))
    end = _end(timeline)
    for y, job in enumerate(jobs):
        arrival = job.arrival if job.arrival is not None else job.start
        if arrival is not None:
            ax.plot([arrival], [y], "k.", markersize=8)
        if job.release is not None and job.release != job.arrival:
            ax.plot([job.release], [y], "kx", markersize=6)
        if job.start is not None:
            ax.hlines(y, arrival if arrival is not None else job.start, job.start, "grey", lw=1)
            stop = job.finish if job.finish is not None else end
            colour = STATUS_COLOURS.get(job.status, "tab:blue")
            ax.barh(y, stop - job.start, left=job.start, height=0.5, color=colour)
    ax.set_yticks(range(len(jobs)), [job.name for job in jobs])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the experiment started")
    slots = f", {timeline.slots} slots" if timeline.slots else ""
    ax.set_title(f"arrival (dot), release (x), wait and run per job{slots}")
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path)


def plot_utilisation(timeline: Timeline, path: Path) -> Path | None:
    """Replicas running over time (a step line), against the slots where they are known."""
    steps = busy_steps(timeline)
    if not steps:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.6))
    times, busy = zip(*steps, strict=True)
    ax.step([0.0, *times], [0, *busy], where="post", label="replicas running")
    if timeline.slots:
        ax.axhline(timeline.slots, color="tab:red", linestyle="--", label="slots")
    use = mean_utilisation(timeline)
    share = f"; mean utilisation {use:.0%}" if use is not None else ""
    ax.set_title(f"utilisation over time{share}")
    ax.set_xlabel("seconds since the experiment started")
    ax.set_ylabel("replicas")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return save(fig, path)
