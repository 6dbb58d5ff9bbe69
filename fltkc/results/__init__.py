"""`fltkc results`: read a run's files into tables, CSVs, PNG plots and an HTML report."""

from __future__ import annotations

from fltkc.results.aggregate import Group, format_groups, group_rows, write_groups_csv
from fltkc.results.analysis import Analysis, analyse
from fltkc.results.plots import plot_run
from fltkc.results.records import JobMetrics, RunMetrics, load_run
from fltkc.results.scheduling import JobTimes, Timeline, timeline
from fltkc.results.scheduling_summary import class_rows, format_classes, write_scheduling_csv
from fltkc.results.table import Row, format_table, summarize, write_csv
from fltkc.results.tidy import write_long_csv

__all__ = [
    "Analysis",
    "Group",
    "JobMetrics",
    "JobTimes",
    "Row",
    "RunMetrics",
    "Timeline",
    "analyse",
    "class_rows",
    "format_classes",
    "format_groups",
    "format_table",
    "group_rows",
    "load_run",
    "plot_run",
    "summarize",
    "timeline",
    "write_csv",
    "write_groups_csv",
    "write_long_csv",
    "write_scheduling_csv",
]
