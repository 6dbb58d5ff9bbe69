"""The progress display: a redrawn table on a terminal, one line per change otherwise."""

from __future__ import annotations

import io
from pathlib import Path

from run_support import WriteOut

from fltkc.local.localize import Placement
from fltkc.local.outdir import read_out_dir
from fltkc.local.progress import Progress
from fltkc.local.supervisor import JobRun

FAST = {"steps": 1, "sleep": 0.01}


def _runs(write_out: WriteOut, tmp_path: Path) -> list[JobRun]:
    out = read_out_dir(write_out([("one", 1, 0.0, FAST, {}), ("two", 0, 40.0, FAST, {})]))
    placement = Placement(tmp_path / "run", out.config_maps)
    return [JobRun(job, placement, job.arrival / 20, 1.0) for job in out.jobs]


def test_terminal_table_is_redrawn_in_place(write_out: WriteOut, tmp_path: Path):
    stream = io.StringIO()
    progress = Progress(stream, live=True)
    runs = _runs(write_out, tmp_path)
    progress(runs, 0.0)
    first = stream.getvalue()
    assert "\x1b[" not in first
    lines = first.splitlines()
    assert lines[1].split() == ["job", "state", "progress", "accuracy", "restarts", "elapsed"]
    assert lines[3].split()[:4] == ["two", "queued", "(due", "2.0s)"]
    progress(runs, 0.1)  # within the refresh interval: nothing drawn
    assert stream.getvalue() == first
    runs[0].status, runs[0].start = "running", 0.5
    progress(runs, 1.0)
    redraw = stream.getvalue()[len(first) :]
    assert redraw.startswith("\x1b[4F\x1b[J")  # up over the 4 lines drawn, then clear
    assert redraw.splitlines()[2].split() == ["one", "running", "0", "0.5s"]


def test_plain_output_prints_a_line_per_change(write_out: WriteOut, tmp_path: Path):
    stream = io.StringIO()
    progress = Progress(stream, live=False)
    runs = _runs(write_out, tmp_path)
    progress(runs, 0.0)
    progress(runs, 1.0)  # nothing changed: no new lines
    runs[1].status = "running"
    progress(runs, 2.0)
    assert stream.getvalue().splitlines() == [
        "[    0.0s] one queued (due 0.0s)",
        "[    0.0s] two queued (due 2.0s)",
        "[    2.0s] two running",
    ]
