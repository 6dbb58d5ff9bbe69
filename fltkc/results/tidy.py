"""The tidy long CSV: one row per job x round (or epoch) x metric, ready for pandas or R."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from fltkc.results.aggregate import point_label
from fltkc.results.records import JobMetrics
from fltkc.results.table import csv_value, number, sweep_keys

LONG_COLUMNS = ("job", "task", "point", "repetition", "seed", "kind", "step", "metric", "value")


def long_rows(jobs: Sequence[JobMetrics]) -> list[list[object]]:
    """Every numeric field of every metrics record but the step itself, in file order."""
    keys = sweep_keys(job.point for job in jobs)
    rows: list[list[object]] = []
    for job in jobs:
        point = job.point
        head = [job.name, job.task, point_label(point), csv_value(job.repetition)]
        head += [csv_value(job.seed)]
        sweep = [csv_value(point.get(k)) for k in keys]
        for record in job.metrics:
            step = number(record.get("step"))
            if step is None:
                continue
            for metric in sorted(record):
                value = number(record[metric])
                if metric != "step" and value is not None:
                    kind = str(record.get("kind") or "step")
                    rows.append([*head, kind, int(step), metric, value, *sweep])
    return rows


def write_long_csv(jobs: Sequence[JobMetrics], path: Path) -> int:
    """Write the long CSV; the number of data rows."""
    keys = sweep_keys(job.point for job in jobs)
    rows = long_rows(jobs)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*LONG_COLUMNS, *(f"sweep.{k}" for k in keys)])
        writer.writerows(rows)
    return len(rows)
