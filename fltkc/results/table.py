"""One summary row per job: final and best accuracy, loss, steps, time, bytes; text and CSV."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any

from fltkc.results.records import JobMetrics, Record

Cell = str | int | float | None


@dataclass(frozen=True)
class Row:
    job: str
    task: str
    mode: str | None
    status: str
    steps: int | None
    final_accuracy: float | None
    best_accuracy: float | None
    final_loss: float | None
    wall_seconds: float | None
    bytes: int | None
    restarts: int | None


COLUMNS = tuple(f.name for f in fields(Row))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _from(result: Record | None, key: str) -> float | None:
    return _number(result.get(key)) if result else None


def _wall(job: JobMetrics) -> float | None:
    wall = _from(job.result, "wallSeconds")
    if wall is None and job.run and job.run.get("start") is not None and job.run.get("end"):
        wall = float(job.run["end"]) - float(job.run["start"])
    if wall is None and job.metrics:
        wall = sum(v for _, v in job.values("seconds")) or None
    return wall


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def summarize(job: JobMetrics) -> Row:
    """The job's figures from result.json, or from its metrics where the trainer did not finish."""
    accuracy = [v for _, v in job.values("accuracy")]
    loss = [v for _, v in job.values("loss")]
    steps = [float(r["step"]) for r in job.metrics if _number(r.get("step")) is not None]
    result = job.result or {}
    status = (job.run or {}).get("status") or result.get("status") or "incomplete"
    byte_total = _from(job.result, "bytes")
    if byte_total is None and job.metrics:
        byte_total = sum(v for _, v in job.values("bytes"))
    return Row(
        job=job.name,
        task=job.task,
        mode=str(result["mode"]) if result.get("mode") else None,
        status=str(status),
        steps=_int(_first(_from(job.result, "steps"), max(steps, default=None))),
        final_accuracy=_first(
            _from(job.result, "finalAccuracy"), accuracy[-1] if accuracy else None
        ),
        best_accuracy=_first(_from(job.result, "bestAccuracy"), max(accuracy, default=None)),
        final_loss=_first(_from(job.result, "finalLoss"), loss[-1] if loss else None),
        wall_seconds=_wall(job),
        bytes=_int(byte_total),
        restarts=_int(_number((job.run or {}).get("restarts"))),
    )


def _cell(column: str, value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if column == "wall_seconds" else f"{value:.4f}"
    return str(value)


def format_table(rows: Sequence[Row]) -> str:
    """Rows as aligned text under a header."""
    cells = [list(COLUMNS)] + [
        [_cell(c, v) for c, v in zip(COLUMNS, astuple(row), strict=True)] for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )


def write_csv(rows: Sequence[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(["" if v is None else v for v in astuple(row)])
