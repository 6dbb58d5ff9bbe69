"""Repetitions aggregated: jobs grouped by task and sweep point, with mean, std and a 95% CI.

A group's repetitions are its jobs: the sweep's seeded repetitions and the task's arrivals of
the same point. Each metric counts only the jobs that have it (n), out of the group's jobs.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fltkc.results.stats import Summary, summarize
from fltkc.results.table import Row, align, csv_value, sweep_keys

# Metric -> whether higher is better; the best point of a task is marked per metric.
METRICS: dict[str, bool] = {
    "final_accuracy": True,
    "best_accuracy": True,
    "final_loss": False,
    "steps_to_target": False,
    "wall_seconds": False,
    "simulated_seconds": False,
    "bytes": False,
}
CONFIDENCE = 0.95

Point = tuple[tuple[str, str], ...]  # (parameter path, canonical JSON of the value), sorted


def point_key(point: Mapping[str, Any]) -> Point:
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in point.items()))


def point_label(point: Mapping[str, Any]) -> str:
    """`mu=0.01 lr=0.05`: each path by its last part, unless two parts would read the same."""
    if not point:
        return "-"
    lasts = [key.rsplit(".", 1)[-1] for key in point]
    names = {
        k: (k.rsplit(".", 1)[-1] if lasts.count(k.rsplit(".", 1)[-1]) == 1 else k) for k in point
    }
    return " ".join(f"{names[k]}={_short(v)}" for k, v in sorted(point.items()))


def _short(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class Group:
    task: str
    point: Mapping[str, Any]
    jobs: tuple[str, ...]
    stats: Mapping[str, Summary | None]  # metric -> summary over the jobs that have it
    best: frozenset[str] = frozenset()  # metrics on which this point is its task's best

    @property
    def label(self) -> str:
        return point_label(self.point)


def _metric(row: Row, name: str) -> float | None:
    value = getattr(row, name)
    return float(value) if isinstance(value, (int, float)) else None


def group_rows(rows: Sequence[Row]) -> list[Group]:
    """One group per (task, sweep point), in the order of first appearance; best marked."""
    members: dict[tuple[str, Point], list[Row]] = {}
    for row in rows:
        members.setdefault((row.task, point_key(row.point)), []).append(row)
    groups = []
    for (task, _), grouped in members.items():
        stats = {
            name: summarize([v for r in grouped if (v := _metric(r, name)) is not None], CONFIDENCE)
            for name in METRICS
        }
        groups.append(Group(task, grouped[0].point, tuple(r.job for r in grouped), stats))
    return _mark_best(groups)


def _mark_best(groups: list[Group]) -> list[Group]:
    """Per task and metric, the point(s) with the best mean, when the task has two or more."""
    best: dict[int, set[str]] = {i: set() for i in range(len(groups))}
    for task in {g.task for g in groups}:
        members = [i for i, g in enumerate(groups) if g.task == task]
        for name, higher in METRICS.items():
            means = {i: s.mean for i in members if (s := groups[i].stats[name]) is not None}
            if len(set(means.values())) < 2:
                continue  # one point, or all equal: nothing to single out
            pick: Callable[..., float] = max if higher else min
            top = pick(means.values())
            best.update({i: best[i] | {name} for i, m in means.items() if m == top})
    return [
        Group(g.task, g.point, g.jobs, g.stats, frozenset(best[i])) for i, g in enumerate(groups)
    ]


def _format(name: str, value: float) -> str:
    if name in ("wall_seconds", "simulated_seconds", "steps_to_target"):
        return f"{value:.1f}"
    if name == "bytes":
        return f"{value:.0f}"
    return f"{value:.4f}"


def format_cell(group: Group, name: str) -> str:
    """`0.9157 ± 0.0573*`: mean ± the CI half-width, (k/n) when some jobs lack the metric."""
    stats = group.stats[name]
    if stats is None:
        return "-"
    text = _format(name, stats.mean)
    if stats.half_width is not None:
        text += f" ± {_format(name, stats.half_width)}"
    if stats.n < len(group.jobs):
        text += f" ({stats.n}/{len(group.jobs)})"
    return text + ("*" if name in group.best else "")


def shown_metrics(groups: Sequence[Group]) -> list[str]:
    """The metrics some group has a value for (simulated time and targets often absent)."""
    return [m for m in METRICS if any(g.stats[m] is not None for g in groups)]


def column_title(name: str, target: float | None) -> str:
    return f"steps_to_{target:g}" if name == "steps_to_target" and target is not None else name


def format_groups(groups: Sequence[Group], target: float | None = None) -> str:
    """One line per task and sweep point; a legend says what the cells hold."""
    metrics = shown_metrics(groups)
    header = ["task", "point", "jobs", *(column_title(m, target) for m in metrics)]
    lines = [header] + [
        [g.task, g.label, str(len(g.jobs)), *(format_cell(g, m) for m in metrics)] for g in groups
    ]
    legend = (
        f"mean ± half-width of the {CONFIDENCE:.0%} confidence interval (Student t, n-1 df); "
        "no interval for n = 1; (k/n): k of n jobs have the metric; * best point of its task"
    )
    return align(lines) + "\n" + legend


def write_groups_csv(groups: Sequence[Group], path: Path, target: float | None = None) -> None:
    """Long format: one row per task x sweep point x metric, every statistic a column."""
    keys = sweep_keys(g.point for g in groups)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["task", "point", *(f"sweep.{k}" for k in keys), "metric", "target", "jobs", "n"]
            + ["mean", "std", "ci_low", "ci_high", "confidence", "best"]
        )
        for g in groups:
            for name in METRICS:
                s = g.stats[name]
                if s is None:
                    continue
                goal = target if name == "steps_to_target" else None
                writer.writerow(
                    [g.task, g.label, *(csv_value(g.point.get(k)) for k in keys), name]
                    + [csv_value(goal), len(g.jobs), s.n, s.mean, csv_value(s.std)]
                    + [csv_value(s.ci_low), csv_value(s.ci_high), CONFIDENCE, int(name in g.best)]
                )
