"""Per-client figures of a federated task: stragglers and dropouts, and the partition."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fltkc.results.plots_common import pyplot, save
from fltkc.results.records import JobMetrics, Record

STATUSES = ("aggregated", "late", "dropped", "selected")
_COLOURS = {
    "aggregated": "tab:green",
    "late": "tab:orange",
    "dropped": "tab:red",
    "selected": "tab:grey",
}
MAX_LABELS = 50  # a heat map wider than this is unreadable: the most frequent labels are drawn


def _counts(rows: Sequence[Record]) -> dict[str, list[int]]:
    rounds = sorted({int(r["round"]) for r in rows})
    return {
        s: [sum(1 for r in rows if r["round"] == n and r.get("status") == s) for n in rounds]
        for s in STATUSES
    } | {"round": rounds}


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return at(0.1), at(0.5), at(0.9)


def _status_panel(ax: Any, job: JobMetrics) -> None:
    counts = _counts(job.clients)
    bottom = [0] * len(counts["round"])
    for status in STATUSES:
        heights = counts[status]
        if any(heights):
            ax.bar(counts["round"], heights, bottom=bottom, label=status, color=_COLOURS[status])
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_xlabel("round")
    ax.set_ylabel("selected clients")
    ax.legend(fontsize="small")


def _seconds_panel(ax: Any, job: JobMetrics) -> None:
    for status in STATUSES:
        points = [
            (r["round"], r["simulatedSeconds"]) for r in job.clients if r.get("status") == status
        ]
        if points:
            x, y = zip(*points, strict=True)
            ax.scatter(x, y, s=10, color=_COLOURS[status], label=status, alpha=0.7)
    ax.set_xlabel("round")
    ax.set_ylabel("simulated seconds per client")
    ax.set_yscale("symlog")


def _accuracy_panel(ax: Any, job: JobMetrics) -> None:
    by_round: dict[int, list[float]] = {}
    for r in job.clients:
        if isinstance(r.get("accuracy"), (int, float)):
            by_round.setdefault(int(r["round"]), []).append(float(r["accuracy"]))
    if not by_round:
        ax.text(0.5, 0.5, "no held-out split\n(federated.clientEvaluation)", ha="center")
        ax.set_axis_off()
        return
    rounds = sorted(by_round)
    low, mid, high = zip(*(_percentiles(by_round[n]) for n in rounds), strict=True)
    ax.fill_between(rounds, low, high, alpha=0.3, label="10th-90th percentile")
    ax.plot(rounds, mid, marker="o", markersize=3, label="median")
    ax.set_xlabel("round")
    ax.set_ylabel("client accuracy on its held-out split")
    ax.legend(fontsize="small")


def plot_clients(task: str, jobs: Sequence[JobMetrics], path: Path) -> Path:
    """One row per job: status counts per round, each client's simulated seconds, and the
    spread of the clients' local accuracy."""
    plt = pyplot()
    fig, axes = plt.subplots(len(jobs), 3, figsize=(15, 3.6 * len(jobs)), squeeze=False)
    for row, job in zip(axes, jobs, strict=True):
        _status_panel(row[0], job)
        _seconds_panel(row[1], job)
        _accuracy_panel(row[2], job)
        row[0].set_title(job.name, loc="left", fontsize="medium")
        for ax in row:
            ax.grid(alpha=0.3)
    fig.suptitle(f"task {task}: stragglers, dropouts and per-client accuracy")
    return save(fig, path)


def plot_partition(job: JobMetrics, path: Path) -> Path:
    """Clients x labels: how many samples of each label each client holds."""
    assert job.partition is not None
    plt = pyplot()
    clients = job.partition.get("clients") or []
    totals: dict[str, int] = {}
    for client in clients:
        for label, n in client.get("histogram", {}).items():
            totals[label] = totals.get(label, 0) + int(n)
    labels = sorted(totals, key=lambda k: (-totals[k], int(k) if k.isdigit() else k))
    labels = sorted(labels[:MAX_LABELS], key=lambda k: int(k) if k.isdigit() else k)
    grid = [[int(c.get("histogram", {}).get(label, 0)) for label in labels] for c in clients]
    fig, ax = plt.subplots(figsize=(min(3 + 0.35 * len(labels), 20), 2 + 0.12 * len(clients)))
    image = ax.imshow(grid or [[0]], aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="samples")
    ax.set_xticks(range(len(labels)), labels, fontsize="small")
    ax.set_xlabel("label" if len(totals) <= MAX_LABELS else f"the {MAX_LABELS} largest labels")
    ax.set_ylabel("client")
    ax.set_title(f"{job.name}: partition ({len(clients)} clients)")
    return save(fig, path)
