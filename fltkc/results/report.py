"""`fltkc results --report`: one self-contained HTML page (figures inlined as base64 PNG)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from fltkc import __version__
from fltkc.results.aggregate import CONFIDENCE, column_title, format_cell, shown_metrics
from fltkc.results.analysis import Analysis
from fltkc.results.scheduling_summary import class_rows, mean_utilisation
from fltkc.results.table import ALL_COLUMNS

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.best { font-weight: bold; background: #eef7ee; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
.wide { overflow-x: auto; } code { background: #f6f6f6; padding: 0 3px; }
.note { color: #555; font-size: 12px; }
"""


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], table_id: str) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(_td(cell) for cell in row) + "</tr>\n" for row in rows)
    table = f'<table id="{table_id}">\n<tr>{head}</tr>\n{body}</table>'
    return f'<div class="wide">{table}</div>\n'


def _td(cell: Any) -> str:
    if isinstance(cell, tuple):  # (text, css class)
        return f'<td class="{cell[1]}">{escape(cell[0])}</td>'
    if cell is None:
        return "<td>-</td>"
    if isinstance(cell, float):
        return f"<td>{cell:.4g}</td>"
    return f"<td>{escape(str(cell))}</td>"


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _plan(analysis: Analysis) -> str:
    plan = analysis.results.plan
    if plan is None:
        run = analysis.results.run or {}
        recorded = [
            (j.get("name"), j.get("task"), j.get("arrivalOffset"), j.get("replicas"))
            for j in run.get("jobs") or []
        ]
        note = '<p class="note">No out/ found (give --out): jobs as run.json recorded them.</p>'
        header = ["job", "task", "arrival offset s", "replicas"]
        return note + _table(header, recorded, "plan-jobs")
    tasks: dict[str, list[Any]] = {}
    for job in plan.jobs:
        tasks.setdefault(job.task, []).append(job)
    rows = []
    for task, jobs in tasks.items():
        config = next((j.config for j in jobs if j.config), None) or {}
        sweep: dict[str, set[str]] = {}
        reps = set()
        for j in jobs:
            block = (j.config or {}).get("job") or {}
            reps.add(block.get("repetition", 0))
            for k, v in (block.get("sweep") or {}).items():
                sweep.setdefault(k, set()).add(_json(v))
        hardware = "; ".join(
            f"{role} x{spec.get('replicas')}: {_json(spec.get('resources'))}"
            for role, spec in sorted(jobs[0].roles.items())
        )
        rows.append(
            (
                task,
                len(jobs),
                config.get("mode"),
                (config.get("model") or {}).get("name"),
                (config.get("dataset") or {}).get("name"),
                ", ".join(f"{k} in [{', '.join(sorted(v))}]" for k, v in sorted(sweep.items()))
                or "-",
                len(reps),
                ", ".join(f"{j.offset_seconds:g}" for j in jobs),
                hardware or "-",
            )
        )
    header = ["task", "jobs", "mode", "model", "dataset", "sweep", "repetitions"]
    header += ["arrival offsets (s)", "hardware per replica"]
    seed = f"experiment seed <code>{plan.seed}</code>; " if plan.seed is not None else ""
    intro = f"<p>{seed}from <code>{escape(str(plan.directory))}</code></p>"
    return intro + _table(header, rows, "plan")


def _groups(analysis: Analysis) -> str:
    metrics = shown_metrics(analysis.groups)
    header = ["task", "point", "jobs", *(column_title(m, analysis.target) for m in metrics)]
    rows = [
        [g.task, g.label, len(g.jobs)]
        + [(format_cell(g, m), "best" if m in g.best else "") for m in metrics]
        for g in analysis.groups
    ]
    note = (
        f'<p class="note">mean ± half-width of the {CONFIDENCE:.0%} confidence interval '
        "(Student t, n-1 degrees of freedom); no interval for n = 1; (k/n): k of the n jobs "
        "have the metric; bold and *: the best point of its task.</p>"
    )
    return _table(header, rows, "points") + note


def _jobs(analysis: Analysis) -> str:
    columns = [c for c in ALL_COLUMNS if any(getattr(r, c) is not None for r in analysis.rows)]
    rows = [
        [getattr(r, c) for c in columns] + [" ".join(f"{k}={_json(v)}" for k, v in r.point.items())]
        for r in analysis.rows
    ]
    return _table([*columns, "point"], rows, "jobs")


def _scheduling(analysis: Analysis) -> str:
    timeline = analysis.timeline
    if timeline is None:
        return "<p>No times recorded (no run.json, release.json or ranks/).</p>"
    header = ["class", "jobs", "finished"]
    rows = []
    for row in class_rows(timeline):
        cells: list[Any] = [row.job_class, row.jobs, row.finished]
        for spread in (row.jct, row.queueing, row.run_time):
            cells += (
                [None] * 4 if spread is None else [spread.mean, spread.p50, spread.p90, spread.p99]
            )
        rows.append(cells)
    for what in ("JCT", "queueing", "run time"):
        header += [f"{what} {s}" for s in ("mean", "p50", "p90", "p99")]
    span, use = timeline.makespan, mean_utilisation(timeline)
    facts = [f"times from {escape(timeline.source)}", "seconds"]
    facts.append(f"makespan {span:.1f} s" if span is not None else "makespan unknown")
    if use is not None:
        facts.append(f"mean utilisation {use:.0%} of {timeline.slots} slots")
    if timeline.time_scale and timeline.time_scale != 1:
        facts.append(f"local clock: arrivals divided by --time-scale {timeline.time_scale:g}")
    per_job = [
        (j.name, j.job_class, j.status, j.arrival, j.release, j.start, j.finish, j.queueing,
         j.jct, j.run_time)
        for j in timeline.jobs
    ]  # fmt: skip
    job_header = ["job", "class", "status", "arrival", "release", "start", "finish"]
    job_header += ["queueing delay", "JCT", "run time"]
    return (
        f"<p>{'; '.join(facts)}.</p>"
        + _table(header, rows, "classes")
        + _table(job_header, per_job, "job-times")
    )


def _figures(paths: Sequence[Path]) -> str:
    out = []
    for path in paths:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        out.append(
            f'<figure><img alt="{escape(path.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(path.name)}</figcaption></figure>"
        )
    return "\n".join(out) or "<p>No figures.</p>"


def _versions(analysis: Analysis) -> str:
    seen: dict[str, set[str]] = {"fltkc (this report)": {__version__}}
    for job in analysis.results.jobs:
        for name, version in ((job.info or {}).get("versions") or {}).items():
            if version:
                seen.setdefault(f"{name} (trainer)", set()).add(str(version))
    rows = [(name, ", ".join(sorted(v))) for name, v in seen.items()]
    seeds = [(j.name, j.seed) for j in analysis.results.jobs]
    return _table(["package", "version"], rows, "versions") + _table(
        ["job", "seed"], seeds, "seeds"
    )


def render_report(analysis: Analysis, figures: Sequence[Path]) -> str:
    results = analysis.results
    name = (results.plan and results.plan.experiment) or (results.run or {}).get("experiment")
    title = f"fltkc results: {name or results.directory.name}"
    sections = [
        ("plan", "Plan: tasks, sweeps, arrivals, hardware", _plan(analysis)),
        ("results", "Results per task and sweep point", _groups(analysis)),
        ("per-job", "Every job", _jobs(analysis)),
        ("scheduling", "Scheduling", _scheduling(analysis)),
        ("figures", "Figures", _figures(figures)),
        ("versions", "Versions and seeds", _versions(analysis)),
    ]
    body = "\n".join(
        f'<section id="{i}"><h2>{escape(h)}</h2>\n{html}</section>' for i, h, html in sections
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>{escape(title)}</h1>\n"
        f'<p class="note">Run directory <code>{escape(str(results.directory))}</code>.</p>\n'
        f"{body}\n</body></html>\n"
    )


def write_report(analysis: Analysis, figures: Sequence[Path], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(analysis, figures), encoding="utf-8")
    return path
