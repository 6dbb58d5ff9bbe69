"""PNG figures of a run: accuracy and loss per task (against rounds and simulated time), the
federated clients and partitions, and a timeline of the queueing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fltkc.results.plots_clients import plot_clients, plot_partition
from fltkc.results.records import JobMetrics, RunMetrics

_STATUS_COLOURS = {"succeeded": "tab:green", "failed": "tab:red", "interrupted": "tab:orange"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    return plt


def _named(stem: Path, what: str) -> Path:
    return stem.with_name(f"{stem.name}-{what}.png")


def _file_name(task: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", task).strip("-") or "task"


def plot_task(task: str, jobs: Sequence[JobMetrics], path: Path) -> Path:
    """Accuracy and loss against round or epoch, one line per job; federated jobs add
    accuracy against simulated time."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    simulated = any(job.values("accuracy", x="simTime") for job in jobs)
    fig, axes = plt.subplots(1, 3 if simulated else 2, figsize=(16.5 if simulated else 11, 4.2))
    acc_ax, loss_ax = axes[0], axes[1]
    kinds = {job.step_kind for job in jobs}
    xlabel = kinds.pop() if len(kinds) == 1 else "round / epoch"
    for ax, key, label in ((acc_ax, "accuracy", "test accuracy"), (loss_ax, "loss", "test loss")):
        for job in jobs:
            points = job.values(key)
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=job.name)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # rounds and epochs are whole
        ax.grid(alpha=0.3)
    if simulated:
        _simulated_panel(axes[2], jobs)
    handles, labels = acc_ax.get_legend_handles_labels()
    if handles:
        acc_ax.legend(fontsize="small")
    fig.suptitle(f"task {task}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _simulated_panel(ax: Any, jobs: Sequence[JobMetrics]) -> None:
    for job in jobs:
        points = job.values("accuracy", x="simTime")
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=job.name)
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)


def plot_timeline(run: dict[str, Any], path: Path) -> Path:
    """Per job: arrival (dot), waiting for slots (thin line), running (bar, coloured by status)."""
    plt = _pyplot()
    jobs = run.get("jobs") or []
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(jobs) + 1.6))
    end_of_run = float(run.get("elapsedSeconds") or 0.0)
    for y, job in enumerate(jobs):
        arrival = float(job.get("scheduledStart") or 0.0)
        start, end = job.get("start"), job.get("end")
        ax.plot([arrival], [y], "k.", markersize=8)
        if start is not None:
            ax.hlines(y, arrival, float(start), colors="grey", linewidth=1)
            stop = float(end) if end is not None else end_of_run
            colour = _STATUS_COLOURS.get(str(job.get("status")), "tab:blue")
            ax.barh(y, stop - float(start), left=float(start), height=0.5, color=colour)
    ax.set_yticks(range(len(jobs)), [str(job.get("name")) for job in jobs])
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the run started")
    ax.set_title(
        f"{run.get('experiment', '')}: arrival, wait and run per job "
        f"({run.get('slots', '?')} slots)"
    )
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_run(results: RunMetrics, out_dir: Path) -> list[Path]:
    """Per task: accuracy and loss, and for federated tasks the clients and the partition of
    its first job; the timeline when the run left a run.json."""
    by_task: dict[str, list[JobMetrics]] = {}
    for job in results.jobs:
        if job.metrics:
            by_task.setdefault(job.task, []).append(job)
    paths = []
    for task, jobs in sorted(by_task.items()):
        stem = out_dir / f"task-{_file_name(task)}"
        paths.append(plot_task(task, jobs, stem.with_suffix(".png")))
        with_clients = [job for job in jobs if job.clients]
        if with_clients:
            paths.append(plot_clients(task, with_clients, _named(stem, "clients"), _pyplot()))
        # DDP's partition.json holds the ranks' i.i.d. shards: only federated splits are drawn.
        federated = (job for job in jobs if job.partition and job.step_kind == "round")
        partitioned = next(federated, None)
        if partitioned is not None:
            paths.append(plot_partition(partitioned, _named(stem, "partition"), _pyplot()))
    if results.run and results.run.get("jobs"):
        paths.append(plot_timeline(results.run, out_dir / "timeline.png"))
    return paths
