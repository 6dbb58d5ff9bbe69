"""One summary row per job: final and best accuracy, loss, steps, time, bytes; text and CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass, field, fields
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
    # In the CSV and the aggregates, not the printed table.
    repetition: int | None = None
    seed: int | None = None
    steps_to_target: int | None = None  # the first round or epoch at the --target accuracy
    simulated_seconds: float | None = None  # only where the trainer reports simulated time
    point: Mapping[str, Any] = field(default_factory=dict)


ALL_COLUMNS = tuple(f.name for f in fields(Row) if f.name != "point")
COLUMNS = ALL_COLUMNS[: ALL_COLUMNS.index("restarts") + 1]  # the printed table


def number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _from(result: Record | None, key: str) -> float | None:
    return number(result.get(key)) if result else None


def _wall(job: JobMetrics) -> float | None:
    wall = _from(job.result, "wallSeconds")
    if wall is None and job.run and job.run.get("start") is not None and job.run.get("end"):
        wall = float(job.run["end"]) - float(job.run["start"])
    if wall is None and job.metrics:
        wall = sum(v for _, v in job.values("seconds")) or None
    return wall


def _simulated(job: JobMetrics) -> float | None:
    total = _from(job.result, "simulatedSeconds")
    if total is None and (steps := job.values("simulatedSeconds")):
        total = sum(v for _, v in steps)
    return total


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _restarts(job: JobMetrics) -> int | None:
    """run.json's count, else the most attempts any rank recorded, less its first."""
    if job.run is not None:
        return _int(number(job.run.get("restarts")))
    attempts = [len(r.get("attempts") or []) for r in job.ranks]
    return max(attempts) - 1 if attempts and max(attempts) > 0 else None


def steps_to(job: JobMetrics, target: float | None) -> int | None:
    """The first round or epoch whose test accuracy reached `target`; None if none did."""
    if target is None:
        return None
    return next((int(step) for step, acc in job.values("accuracy") if acc >= target), None)


def summarize(job: JobMetrics, target: float | None = None) -> Row:
    """The job's figures from result.json, or from its metrics where the trainer did not finish."""
    accuracy = [v for _, v in job.values("accuracy")]
    loss = [v for _, v in job.values("loss")]
    steps = [float(r["step"]) for r in job.metrics if number(r.get("step")) is not None]
    result = job.result or {}
    status = (job.run or {}).get("status") or result.get("status")
    status = status or ("incomplete" if job.started else "not started")
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
        restarts=_restarts(job),
        repetition=job.repetition,
        seed=job.seed,
        steps_to_target=steps_to(job, target),
        simulated_seconds=_simulated(job),
        point=job.point,
    )


def _cell(column: str, value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if column == "wall_seconds" else f"{value:.4f}"
    return str(value)


def align(lines: Sequence[Sequence[str]]) -> str:
    """Text cells as left-aligned columns, two spaces apart."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def format_table(rows: Sequence[Row]) -> str:
    """Rows as aligned text under a header."""
    cells = [list(COLUMNS)] + [
        [_cell(c, v) for c, v in zip(COLUMNS, astuple(row), strict=False)] for row in rows
    ]
    return align(cells)


def sweep_keys(points: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every swept parameter path, sorted: one CSV column each."""
    return sorted({key for point in points for key in point})


def csv_value(value: Any) -> Any:
    """A CSV cell: empty for missing; lists and mappings as their JSON text."""
    import json

    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return value


def write_csv(rows: Sequence[Row], path: Path) -> None:
    """Every column of every row, then one `sweep.<path>` column per swept parameter."""
    keys = sweep_keys(row.point for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*ALL_COLUMNS, *(f"sweep.{k}" for k in keys)])
        for row in rows:
            values = [getattr(row, c) for c in ALL_COLUMNS]
            writer.writerow([csv_value(v) for v in (*values, *(row.point.get(k) for k in keys))])
