"""`fltkc results`: read a run's metric files into a table, a CSV and PNG plots."""

from __future__ import annotations

from fltkc.results.plots import plot_run
from fltkc.results.records import JobMetrics, RunMetrics, load_run
from fltkc.results.table import Row, format_table, summarize, write_csv

__all__ = [
    "JobMetrics",
    "Row",
    "RunMetrics",
    "format_table",
    "load_run",
    "plot_run",
    "summarize",
    "write_csv",
]
