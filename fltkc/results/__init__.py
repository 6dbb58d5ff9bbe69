"""`fltkc results`: read a run's files into tables, CSVs, PNG plots and an HTML report."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fltkc.results.aggregate import Group, format_groups, group_rows, write_groups_csv
    from fltkc.results.analysis import Analysis, analyse
    from fltkc.results.plots import plot_run
    from fltkc.results.records import JobMetrics, RunMetrics, load_run
    from fltkc.results.scheduling import JobTimes, Timeline, timeline
    from fltkc.results.scheduling_summary import class_rows, format_classes, write_scheduling_csv
    from fltkc.results.table import Row, format_table, summarize, write_csv
    from fltkc.results.tidy import write_long_csv

# Imported on first use: the CLI registers `fltkc results` at every start, `fltkc build` too.
_MODULES = {
    "Analysis": "analysis",
    "Group": "aggregate",
    "JobMetrics": "records",
    "JobTimes": "scheduling",
    "Row": "table",
    "RunMetrics": "records",
    "Timeline": "scheduling",
    "analyse": "analysis",
    "class_rows": "scheduling_summary",
    "format_classes": "scheduling_summary",
    "format_groups": "aggregate",
    "format_table": "table",
    "group_rows": "aggregate",
    "load_run": "records",
    "plot_run": "plots",
    "summarize": "table",
    "timeline": "scheduling",
    "write_csv": "table",
    "write_groups_csv": "aggregate",
    "write_long_csv": "tidy",
    "write_scheduling_csv": "scheduling_summary",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
