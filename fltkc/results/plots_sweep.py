"""Sweep figures: accuracy per round with a band over repetitions, and metric vs parameter."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fltkc.results.aggregate import CONFIDENCE, Group, point_key, point_label
from fltkc.results.plots_common import pyplot, save
from fltkc.results.records import JobMetrics
from fltkc.results.stats import summarize
from fltkc.results.table import sweep_keys

SWEEP_METRICS = ("final_accuracy", "final_loss", "steps_to_target")


def plot_bands(task: str, groups: Sequence[Group], jobs: Sequence[JobMetrics], path: Path) -> Path:
    """Mean test accuracy per round of every sweep point; the band is the 95% CI of the mean
    over the point's repetitions (none where only one repetition has that round)."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(8, 4.5))
    by_name = {job.name: job for job in jobs}
    kinds = set()
    for group in groups:
        per_step: dict[float, list[float]] = {}
        runs = 0
        for job in (by_name[n] for n in group.jobs if n in by_name):
            kinds.add(job.step_kind)
            runs += bool(job.values("accuracy"))
            for step, value in job.values("accuracy"):
                per_step.setdefault(step, []).append(value)
        if not per_step:
            continue
        steps = sorted(per_step)
        stats = [summarize(per_step[s], CONFIDENCE) for s in steps]
        means = [s.mean for s in stats if s is not None]
        (line,) = ax.plot(steps, means, marker="o", markersize=3)
        line.set_label(f"{_short(group.label) if group.point else 'no sweep'} (n={runs})")
        low = [s.ci_low if s and s.ci_low is not None else s.mean for s in stats if s]
        high = [s.ci_high if s and s.ci_high is not None else s.mean for s in stats if s]
        ax.fill_between(steps, low, high, alpha=0.2, color=line.get_color(), linewidth=0)
    ax.set_xlabel(kinds.pop() if len(kinds) == 1 else "round / epoch")
    ax.set_ylabel("test accuracy")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", title="point", title_fontsize="small")
    ax.set_title(f"task {task}: mean and {CONFIDENCE:.0%} CI over repetitions")
    return save(fig, path)


MAX_TICK = 24  # longer values (a swept mapping) are numbered; results-points.csv spells them
MAX_LEGEND = 64  # a legend entry is cut here (a swept mapping), so the plot keeps its width


def _short(label: str) -> str:
    return label if len(label) <= MAX_LEGEND else label[: MAX_LEGEND - 1] + "\u2026"


def _positions(values: list[Any]) -> tuple[list[float], list[str] | None]:
    """Numbers stay on their axis; anything else is placed at 0, 1, ... in sorted order."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values], None
    labels = sorted({json.dumps(v, sort_keys=True) for v in values})
    positions = [float(labels.index(json.dumps(v, sort_keys=True))) for v in values]
    if max(len(label) for label in labels) > MAX_TICK:
        labels = [f"value {i + 1}" for i in range(len(labels))]
    return positions, labels


def sweep_panels(groups: Sequence[Group]) -> list[str]:
    return [m for m in SWEEP_METRICS if any(g.stats[m] is not None for g in groups)]


def plot_sweep(task: str, groups: Sequence[Group], path: Path) -> Path | None:
    """Each metric against each swept parameter with its CI; one line per value of the others."""
    params = sweep_keys(g.point for g in groups)
    metrics = sweep_panels(groups)
    if len(groups) < 2 or not params or not metrics:
        return None
    plt = pyplot()
    rows, cols = len(params), len(metrics)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    for r, param in enumerate(params):
        lines: dict[tuple[tuple[str, str], ...], list[Group]] = {}
        for g in groups:
            others = {k: v for k, v in g.point.items() if k != param}
            lines.setdefault(point_key(others), []).append(g)
        for c, metric in enumerate(metrics):
            ax = axes[r][c]
            for members in lines.values():
                members = [g for g in members if param in g.point and g.stats[metric]]
                if not members:
                    continue
                xs, labels = _positions([g.point[param] for g in members])
                order = sorted(range(len(xs)), key=xs.__getitem__)
                stats = [members[i].stats[metric] for i in order]
                ax.errorbar(
                    [xs[i] for i in order],
                    [s.mean for s in stats if s],
                    yerr=[s.half_width or 0.0 for s in stats if s],
                    marker="o", capsize=3,
                    label=point_label({k: v for k, v in members[0].point.items() if k != param}),
                )  # fmt: skip
                if labels:
                    ax.set_xticks(range(len(labels)), labels)
            ax.set_xlabel(param)
            ax.set_ylabel(metric.replace("_", " "))
            ax.grid(alpha=0.3)
            if len(lines) > 1:
                ax.legend(fontsize="x-small")
    fig.suptitle(f"task {task}: mean and {CONFIDENCE:.0%} CI per sweep point")
    return save(fig, path)
