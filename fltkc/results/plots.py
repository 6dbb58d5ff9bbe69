"""PNG figures of a run: per task the jobs (against rounds and simulated time), the bands and
the sweep, and for federated tasks the clients and the partition; timeline, utilisation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fltkc.results.analysis import Analysis
from fltkc.results.plots_clients import plot_clients, plot_partition
from fltkc.results.plots_common import file_name, pyplot, save
from fltkc.results.plots_schedule import plot_timeline, plot_utilisation
from fltkc.results.plots_sweep import plot_bands, plot_sweep
from fltkc.results.records import JobMetrics


def plot_task(task: str, jobs: Sequence[JobMetrics], path: Path) -> Path:
    """Accuracy and loss against round or epoch, one line per job; federated jobs add
    accuracy against simulated time."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    simulated = any(job.values("accuracy", x="simulatedTime") for job in jobs)
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
    fig.suptitle(f"task {task}: every job")
    return save(fig, path)


def _simulated_panel(ax: Any, jobs: Sequence[JobMetrics]) -> None:
    for job in jobs:
        points = job.values("accuracy", x="simulatedTime")
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=job.name)
    ax.set_xlabel("simulated seconds")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)


def plot_run(analysis: Analysis, out_dir: Path) -> list[Path]:
    """Per task: every job's curves, the band over repetitions per sweep point and the sweep
    figure; then the timeline and the utilisation, where the run left times."""
    results = analysis.results
    by_task: dict[str, list[JobMetrics]] = {}
    for job in results.jobs:
        if job.metrics:
            by_task.setdefault(job.task, []).append(job)
    paths: list[Path | None] = []
    for task, jobs in sorted(by_task.items()):
        name = file_name(task)
        groups = [g for g in analysis.groups if g.task == task]
        paths.append(plot_task(task, jobs, out_dir / f"task-{name}.png"))
        paths.append(plot_bands(task, groups, jobs, out_dir / f"accuracy-{name}.png"))
        paths.append(plot_sweep(task, groups, out_dir / f"sweep-{name}.png"))
        paths += _federated(task, jobs, out_dir / f"task-{name}")
    if analysis.timeline is not None and analysis.timeline.jobs:
        paths.append(plot_timeline(analysis.timeline, out_dir / "timeline.png"))
        paths.append(plot_utilisation(analysis.timeline, out_dir / "utilisation.png"))
    return [p for p in paths if p is not None]


def _federated(task: str, jobs: Sequence[JobMetrics], stem: Path) -> list[Path]:
    """The clients of the jobs that wrote clients.jsonl; the partition of the first federated
    job (DDP's partition.json holds the ranks' i.i.d. shards, not drawn)."""
    paths = []
    with_clients = [job for job in jobs if job.clients]
    if with_clients:
        paths.append(plot_clients(task, with_clients, _named(stem, "clients")))
    federated = (job for job in jobs if job.partition and job.step_kind == "round")
    partitioned = next(federated, None)
    if partitioned is not None:
        paths.append(plot_partition(partitioned, _named(stem, "partition")))
    return paths


def _named(stem: Path, what: str) -> Path:
    return stem.with_name(f"{stem.name}-{what}.png")
