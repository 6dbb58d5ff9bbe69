"""Plain-text summaries of a plan for `fltkc build --dry-run` and build progress."""

from __future__ import annotations

from fltkc.compile.expand import Job, Plan
from fltkc.compile.experiment import Hardware


def _resources(hw: Hardware) -> str:
    parts = [f"{k}={v}" for k, v in hw.requests.items()]
    limits = [f"{k}<={v}" for k, v in hw.limits.items()]
    return ",".join(parts + limits) or "-"


def _row(job: Job) -> list[str]:
    worker = f"{job.workers}x {_resources(job.worker)}" if job.workers else "-"
    return [
        f"{job.offset_seconds:.3f}",
        job.name,
        job.task,
        str(job.seed),
        _resources(job.master),
        worker,
    ]


def plan_lines(plan: Plan) -> list[str]:
    """A header, then one aligned row per job in arrival order (with the stream and priority
    class each job drew, when the experiment has streams)."""
    exp = plan.experiment
    header = ["OFFSET_S", "JOB", "TASK", "SEED", "MASTER", "WORKERS"]
    jobs = sorted(plan.jobs, key=lambda j: (j.offset_seconds, j.name))
    rows = [header] + [_row(job) for job in jobs]
    if exp.streams:
        rows[0] += ["STREAM", "PRIORITY"]
        for row, job in zip(rows[1:], jobs, strict=True):
            row += [job.stream or "-", job.priority or "-"]
        header = rows[0]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    title = (
        f"experiment {exp.name}: {len(plan.jobs)} job(s), seed {exp.seed}, "
        f"namespace {exp.namespace or '(from kubectl context)'}"
    )
    table = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return [title, *table]
