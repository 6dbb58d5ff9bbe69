"""The figures of docs/benchmarks.md, drawn with matplotlib's Agg backend from the raw runs."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from report import grouped, label


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bars(ax: Any, x: float, values: list[float], width: float, name: str, color: str) -> None:
    mid = statistics.median(values)
    err = [[mid - min(values)], [max(values) - mid]]
    ax.bar(x, mid, width, yerr=err, capsize=3, label=name, color=color)


def rounds_per_second(runs: list[dict[str, Any]], path: Path) -> None:
    """Grouped bars: rounds/s with and without start-up, median with a min-max whisker."""
    plt = _pyplot()
    groups = grouped(runs)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(groups)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, rs) in enumerate(groups.items()):
        for j, key in enumerate(("incl", "excl")):
            x = j + (i - (len(groups) - 1) / 2) * width
            _bars(ax, x, [r[key] for r in rs], width, name if j == 0 else "_", colors[i])
    ax.set_xticks([0, 1], ["start-up included\n(process wall)", "start-up excluded\n(rounds 2..)"])
    ax.set_ylabel("rounds per second (higher is better)")
    ax.set_title("Federated MNIST CNN, 10 of 100 clients per round, 2 CPU cores")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scaling_clients(runs: list[dict[str, Any]], path: Path) -> None:
    """Round time against clients per round, one line per contender."""
    plt = _pyplot()
    lines: dict[str, list[tuple[int, float, float, float]]] = {}
    for run in runs:
        steady = run["roundSeconds"][1:] or run["roundSeconds"]
        point = (run["perRound"], statistics.median(steady), min(steady), max(steady))
        lines.setdefault(label(run), []).append(point)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, points in lines.items():
        points.sort()
        xs = [p[0] for p in points]
        mids = [p[1] for p in points]
        err = [[p[1] - p[2] for p in points], [p[3] - p[1] for p in points]]
        ax.errorbar(xs, mids, yerr=err, marker="o", capsize=3, label=name)
    ax.set_xlabel("clients per round")
    ax.set_ylabel("seconds per round (lower is better)")
    ax.set_title("Round time as clients per round grow (2 CPU cores)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scaling_workers(runs: list[dict[str, Any]], path: Path) -> None:
    """Round time against worker processes (executors or Ray actors) per clients-per-round."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    series: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for run in runs:
        if run["kind"] in ("floor", "floor-spin"):
            continue
        steady = run["roundSeconds"][1:] or run["roundSeconds"]
        key = ("fltk" if run["kind"] == "fltk" else "Flower", run["perRound"])
        series.setdefault(key, []).append((run["workers"], statistics.median(steady)))
    for (kind, per_round), points in sorted(series.items()):
        if len(points) < 2:
            continue
        points.sort()
        style = "-" if kind == "fltk" else "--"
        ax.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            style,
            marker="o",
            label=f"{kind}, {per_round} clients/round",
        )
    ax.set_xticks([1, 2])
    ax.set_xlabel("worker processes (fltk executors / Flower Ray actors)")
    ax.set_ylabel("seconds per round (lower is better)")
    ax.set_title("Round time as worker processes grow (2 CPU cores)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compile_times(
    repeats: list[list[dict[str, float]]], jsonnet: dict[str, Any] | None, path: Path
) -> None:
    """Build wall time against jobs, log-log: fltkc build, bare Jsonnet, and the C++ binding."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    jobs = [int(r["jobs"]) for r in repeats[0]]
    for key, name in (("build_s", "fltkc build (rjsonnet)"), ("jsonnet_s", "bare rjsonnet")):
        mids = [statistics.median(rep[i][key] for rep in repeats) for i in range(len(jobs))]
        ax.plot(jobs, mids, marker="o", label=name)
    if jsonnet is not None:
        rows = jsonnet["rows"]
        ax.plot(
            [r["jobs"] for r in rows],
            [r["cpp"]["build"] for r in rows],
            marker="s",
            linestyle="--",
            label="fltkc build (C++ jsonnet)",
        )
    ax.axhline(3.0, color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("jobs in the experiment")
    ax.set_ylabel("seconds (lower is better)")
    ax.set_title("Compile time (targets dotted: 0.5 s at 1,000 jobs, 3 s at 10,000)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
