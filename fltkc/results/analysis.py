"""A run analysed once: job rows, sweep-point groups and the timeline, for text, CSV and plots."""

from __future__ import annotations

from dataclasses import dataclass

from fltkc.results.aggregate import Group, group_rows
from fltkc.results.records import RunMetrics
from fltkc.results.scheduling import Timeline, timeline
from fltkc.results.table import Row, summarize


@dataclass(frozen=True)
class Analysis:
    results: RunMetrics
    rows: tuple[Row, ...]
    groups: tuple[Group, ...]
    timeline: Timeline | None
    target: float | None = None  # the accuracy that steps_to_target counts up to


def analyse(results: RunMetrics, target: float | None = None, slots: int | None = None) -> Analysis:
    rows = tuple(summarize(job, target) for job in results.jobs)
    return Analysis(results, rows, tuple(group_rows(rows)), timeline(results, slots), target)
