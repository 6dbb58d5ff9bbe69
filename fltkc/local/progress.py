"""Show a run as it goes: a live table on a terminal, one line per change otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from fltkc.local.supervisor import FINAL, JobRun
from fltkc.results.records import last_metric

REFRESH_SECONDS = 0.5
_HEADER = ("job", "state", "progress", "accuracy", "restarts", "elapsed")


@dataclass(frozen=True)
class JobView:
    name: str
    state: str
    progress: str  # "round 3", "epoch 2" or ""
    accuracy: str
    restarts: int
    elapsed: str


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


def job_view(run: JobRun, now: float) -> JobView:
    """What the table shows for one job, its progress from the trainer's metrics.jsonl."""
    metric = last_metric(run.local.log_dir) if run.local and run.local.log_dir else None
    progress = accuracy = ""
    if metric is not None:
        progress = f"{metric.get('kind', 'step')} {metric.get('step', '?')}"
        if isinstance(metric.get("accuracy"), (int, float)):
            accuracy = f"{metric['accuracy']:.4f}"
    elapsed = None if run.start is None else (run.end if run.end is not None else now) - run.start
    state = run.status if run.status != "queued" else f"queued (due {run.due:.1f}s)"
    return JobView(run.name, state, progress, accuracy, run.restarts, _seconds(elapsed))


def format_table(views: Sequence[JobView]) -> list[str]:
    rows = [_HEADER] + [
        (v.name, v.state, v.progress, v.accuracy, str(v.restarts), v.elapsed) for v in views
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


class Progress:
    """Call with the jobs at every tick; it redraws at most every REFRESH_SECONDS."""

    def __init__(self, stream: TextIO, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self._drawn = 0
        self._last_draw = -REFRESH_SECONDS
        self._last_lines: dict[str, tuple[str, str, int]] = {}

    def __call__(self, runs: Sequence[JobRun], now: float) -> None:
        if now - self._last_draw < REFRESH_SECONDS and not all(r.status in FINAL for r in runs):
            return
        self._last_draw = now
        views = [job_view(run, now) for run in runs]
        if self.live:
            self._redraw(format_table(views), now)
        else:
            self._lines(views, now)
        self.stream.flush()

    def _redraw(self, lines: list[str], now: float) -> None:
        if self._drawn:
            # Cursor up to the table's first line, then clear to the end of the screen.
            self.stream.write(f"\x1b[{self._drawn}F\x1b[J")
        self.stream.write("\n".join([f"fltkc run  {now:.1f}s", *lines]) + "\n")
        self._drawn = len(lines) + 1

    def _lines(self, views: Sequence[JobView], now: float) -> None:
        for view in views:
            key = (view.state, view.progress, view.restarts)
            if self._last_lines.get(view.name) == key:
                continue
            self._last_lines[view.name] = key
            detail = " ".join(
                filter(None, (view.progress, view.accuracy and f"acc {view.accuracy}"))
            )
            restarts = f" restarts {view.restarts}" if view.restarts else ""
            self.stream.write(f"[{now:7.1f}s] {view.name} {view.state} {detail}{restarts}".rstrip())
            self.stream.write("\n")
