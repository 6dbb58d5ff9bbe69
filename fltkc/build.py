"""The pipeline: load -> validate -> expand -> render -> write, each stage one call."""

from __future__ import annotations

from pathlib import Path

from fltkc.expand import Plan, expand
from fltkc.load import load
from fltkc.render import render, schedule_json
from fltkc.serialize import output_files
from fltkc.validate import validate
from fltkc.write import write_output


def plan_file(path: Path) -> Plan:
    """Load, validate and expand one experiment file."""
    return expand(validate(load(path)))


def build_files(
    plan: Plan, templates: Path | None = None, backend: str | None = None
) -> dict[str, bytes]:
    """Render a plan into the file map of out/ (nothing written)."""
    objects = render(plan, templates, backend)
    return output_files(objects, plan.experiment.namespace, schedule_json(plan))


def build(
    path: Path, out_dir: Path, templates: Path | None = None, backend: str | None = None
) -> dict[str, bytes]:
    """Compile `path` into `out_dir`; returns what was written."""
    files = build_files(plan_file(path), templates, backend)
    write_output(files, out_dir)
    return files
