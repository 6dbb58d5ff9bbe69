"""Run every job of a built experiment on this machine: arrivals, slots, restarts, Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fltkc.local.localize import Placement, localize
from fltkc.local.outdir import ManifestError, OutDir, read_out_dir
from fltkc.local.record import RunInfo, RunResult, outcome, write_record
from fltkc.local.scheduler import Pending, admit, due_time
from fltkc.local.supervisor import FINAL, JobRun

OnUpdate = Callable[[Sequence[JobRun], float], None]
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class RunOptions:
    run_dir: Path | None = None  # default: runs/<experiment>-<UTC time>
    slots: int | None = None  # default: the CPU count, raised to the largest job
    time_scale: float = 1.0
    all_at_once: bool = False
    data_dir: Path | None = None
    grace_seconds: float = 10.0
    backend: str | None = None  # an experiment YAML's spec.backend, overridden (fltkc build)


def default_slots() -> int:
    return os.cpu_count() or 1


def _build(experiment: Path, out_dir: Path, job_backend: str | None) -> Path:
    """Compile the experiment with fltkc build's pipeline (its errors are FltkcErrors)."""
    from fltkc.compile.build import build

    build(experiment, out_dir, job_backend=job_backend)
    return out_dir


def _check(source: Path, out: OutDir, options: RunOptions, slots: int) -> None:
    if slots < 1:
        raise ManifestError(f"--slots {slots}: give at least 1")
    if options.time_scale <= 0:
        raise ManifestError(f"--time-scale {options.time_scale}: give a positive number")
    if options.data_dir is not None and not options.data_dir.is_dir():
        raise ManifestError(f"--data-dir {options.data_dir}: no such directory")
    for job in out.jobs:
        if job.total_replicas > slots:
            raise ManifestError(
                f"{source}: job {job.name} needs {job.total_replicas} replicas but there are "
                f"only {slots} slots; raise --slots to at least {job.total_replicas}"
            )


def _run_dir(options: RunOptions, name: str, started: datetime) -> Path:
    run_dir = options.run_dir or Path("runs") / f"{name}-{started:%Y%m%d-%H%M%S}"
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ManifestError(f"--run-dir {run_dir}: not empty; choose a new run directory")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir.resolve()


class _Stop:
    """Counts SIGINT/SIGTERM: the first stops gracefully, a second kills at once."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1


@contextlib.contextmanager
def _signals(stop: _Stop) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _slots(out: OutDir, options: RunOptions) -> int:
    """--slots, or the CPU count raised to the largest job so that every job can start."""
    if options.slots is not None:
        return options.slots
    return max([default_slots(), *(job.total_replicas for job in out.jobs)])


def _placement(run_dir: Path, out: OutDir, options: RunOptions) -> Placement:
    threads = max(1, default_slots() // _slots(out, options))
    return Placement(run_dir, out.config_maps, options.data_dir, threads)


def _setup(source: Path, options: RunOptions, started: datetime) -> tuple[OutDir, Path, int]:
    """Build if needed, check, and lay out the run directory; on failure leave none behind."""
    out = None if source.is_file() else read_out_dir(source)
    if out is not None:
        _check(source, out, options, _slots(out, options))
    run_dir = _run_dir(options, out.experiment if out else source.stem, started)
    try:
        if out is None:
            out = read_out_dir(_build(source, run_dir / "out", options.backend))
            _check(source, out, options, _slots(out, options))
        placement = _placement(run_dir, out, options)
        for job in out.jobs:
            localize(job, placement, port=0)  # fails now on what would fail at launch
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)  # it was empty or new: only ours
        raise
    return out, run_dir, _slots(out, options)


def _loop(
    runs: Sequence[JobRun], slots: int, stop: _Stop, tick: Callable[[float, bool], None]
) -> None:
    origin = time.monotonic()
    stopping = 0
    while True:
        now = time.monotonic() - origin
        if stop.count > stopping:
            stopping = stop.count
            for run in runs:
                run.interrupt(now, immediately=stopping > 1)
        changed = [run.step(now) for run in runs if run.status == "running"]
        if not stopping:
            free = slots - sum(run.slots_in_use for run in runs)
            queue = [
                Pending(r.name, r.due, r.spec.total_replicas, r.spec.priority)
                for r in runs
                if r.status == "queued"
            ]
            started = set(admit(queue, now, free))
            for run in runs:
                if run.name in started:
                    run.launch(now)
            changed.append(bool(started))
        done = all(run.status in FINAL for run in runs)
        tick(now, any(changed) or done)
        if done:
            return
        time.sleep(POLL_SECONDS)


def run_experiment(
    source: Path, options: RunOptions | None = None, on_update: OnUpdate | None = None
) -> RunResult:
    """Run an experiment (its YAML, or the directory fltkc build wrote) to the end.

    Raises ManifestError before anything starts when the input cannot run. SIGINT or SIGTERM
    stops every replica (SIGTERM, then SIGKILL after the grace period) and returns a result
    with status "interrupted"; run.json is rewritten at every change.
    """
    options = options or RunOptions()
    started = datetime.now(timezone.utc).replace(microsecond=0)
    out, run_dir, slots = _setup(source, options, started)
    placement = _placement(run_dir, out, options)
    runs = [
        JobRun(
            job,
            placement,
            due_time(job.arrival, options.time_scale, options.all_at_once),
            options.grace_seconds,
        )
        for job in out.jobs
    ]
    info = RunInfo(
        out.experiment,
        str(source),
        started.isoformat(),
        slots,
        options.time_scale,
        options.all_at_once,
    )

    def tick(now: float, changed: bool) -> None:
        if changed:
            write_record(info, runs, run_dir, now)
        if on_update is not None:
            on_update(runs, now)

    write_record(info, runs, run_dir, 0.0)
    stop = _Stop()
    with _signals(stop):
        try:
            _loop(runs, slots, stop, tick)
        except BaseException:
            _kill_all(runs)
            raise
    return outcome(runs, run_dir)


def _kill_all(runs: Sequence[JobRun]) -> None:
    """Leave no process behind when the loop itself fails."""
    deadline = time.monotonic() + 5.0
    for run in runs:
        run.interrupt(0.0, immediately=True)
    while time.monotonic() < deadline and any(r.alive for run in runs for r in run.replicas):
        for run in runs:
            run.step(time.monotonic())
        time.sleep(POLL_SECONDS)
