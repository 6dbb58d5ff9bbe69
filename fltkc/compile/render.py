"""Render stage: the plan document evaluated by the Jsonnet templates, by shape or in full."""

from __future__ import annotations

import itertools
import json
import os
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fltkc.compile.emit import yaml_documents, yaml_of_json
from fltkc.compile.expand import Plan
from fltkc.compile.jsonnet_eval import (
    TemplateError,
    backend_name,
    evaluate,
    evaluate_snippet,
    map_forked,
    search_path,
)
from fltkc.compile.plan import (
    ConfigMemo,
    experiment_labels,
    job_body,
    job_head,
    plan_document,
    plan_head,
)
from fltkc.compile.render_checks import (
    ObjectChecker,
    check_template_dir,
    rendered_mapping,
    require_training_jobs,
)
from fltkc.compile.render_stamped import render_stamped
from fltkc.compile.stamp import Unstampable

MAIN_TEMPLATE = "main.jsonnet"
# A chunk's Jsonnet heap grows by ~140 KB per job rendered plus ~7 KB per job of the plan (all
# object names are derived in every chunk, ~13 us a job) and is only dropped with its process:
# at most MAX_JOBS_PER_CHUNK jobs (a worker near 150 MB at 10,000 jobs), at least
# MIN_JOBS_PER_CHUNK, up to PARALLEL_CHUNKS chunks when they can share out cores. A function of
# the plan alone, so the chunks, and which error is reported, never depend on the machine.
MAX_JOBS_PER_CHUNK = 500
MIN_JOBS_PER_CHUNK = 250
PARALLEL_CHUNKS = 4
MAX_WORKERS = 8
# A job's scalar fields travel in the plan JSON every chunk parses (main.jsonnet names every
# object); the rest is fetched, by a native callback, only for the jobs the chunk renders.
JOB_HEAD = ("name", "configMap", "restartPolicy", "backoffLimit", "suspend", "workers")
JOB_BODY = (
    "configJson",
    "labels",
    "jobLabels",
    "annotations",
    "env",
    "master",
    "worker",
    "trainjob",
)
DRIVER_NAME = "fltkc-render-chunk.jsonnet"


def render_documents(
    plan: Plan,
    templates: Path | None = None,
    backend: str | None = None,
    sections: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """`{"<file stem>": YAML}` for every manifest; `sections` are extra top-level plan fields.

    Same bytes as one evaluation of the whole plan. The built-in templates evaluate one job
    per shape (render_stamped); user templates may read anything, so they get render_full.
    """
    check_template_dir(templates)
    if templates is None:
        checker = ObjectChecker()
        try:
            documents = render_stamped(plan, sections or {}, search_path(), backend, checker)
            require_training_jobs((job.name for job in plan.jobs), checker.training)
            return documents
        except (Unstampable, TemplateError):
            pass  # rendered in full: the same bytes, or the error as the full plan gives it
    return render_full(plan, templates, backend, sections)


def render_full(
    plan: Plan,
    templates: Path | None = None,
    backend: str | None = None,
    sections: Mapping[str, Any] | None = None,
) -> dict[str, bytes]:
    """render_documents by evaluating main.jsonnet on the whole plan.

    With rjsonnet a large plan is rendered in chunks by forked workers (bounded memory, all
    cores); every chunk evaluates main.jsonnet on the whole plan and manifests only its share
    of the objects, so templates see one plan.
    """
    roots = search_path(templates)
    checker = ObjectChecker()
    if backend_name(backend) != "rjsonnet":
        document = {**plan_document(plan), **(sections or {})}
        tla = {"plan": json.dumps(document, sort_keys=True, separators=(",", ":"))}
        objects = rendered_mapping(evaluate(MAIN_TEMPLATE, tla, roots, backend))
        documents = yaml_documents(objects, checker)
    elif (chunks := chunk_count(len(plan.jobs))) <= 1:
        documents = yaml_of_json(_chunk_renderer(plan, sections or {}, roots)("all"), checker)
    else:
        documents = _render_forked(_chunk_renderer(plan, sections or {}, roots), chunks, checker)
    require_training_jobs((job.name for job in plan.jobs), checker.training)
    return documents


def _render_forked(
    render_chunk: Callable[[str | list[str]], Any], chunks: int, checker: ObjectChecker
) -> dict[str, bytes]:
    """Each chunk rendered and checked in a forked worker; the training job names come back."""
    # Every pass leaves its Jsonnet heap behind, so even the names pass runs in a child.
    (names,) = map_forked(lambda _: json.dumps(render_chunk("names")).encode(), 1, 1)
    selections = deal(json.loads(names), chunks)
    workers = min(chunks, MAX_WORKERS, len(os.sched_getaffinity(0)))

    def work(chunk: int) -> bytes:
        local = ObjectChecker()
        documents = yaml_of_json(render_chunk(selections[chunk]), local)
        return pickle.dumps((documents, local.training))

    documents: dict[str, bytes] = {}
    for part in map_forked(work, chunks, workers):
        chunk_documents, training = pickle.loads(part)
        documents.update(chunk_documents)
        checker.training += training
    return documents


def chunk_count(jobs: int) -> int:
    """How many chunks render a plan of `jobs` jobs (see MAX_JOBS_PER_CHUNK)."""
    at_least = -(-jobs // MAX_JOBS_PER_CHUNK)
    return max(at_least, min(PARALLEL_CHUNKS, jobs // MIN_JOBS_PER_CHUNK), 1)


def deal(stems: list[str], chunks: int) -> list[list[str]]:
    """Split sorted file stems into chunks, each kind (the stem up to its first '-') evenly.

    A job's objects of different kinds then tend to share a chunk, which fetches its body once.
    """
    selections: list[list[str]] = [[] for _ in range(chunks)]
    for _, group in itertools.groupby(stems, key=lambda stem: stem.split("-", 1)[0]):
        stems_of_kind = list(group)
        size = len(stems_of_kind)
        for chunk, selection in enumerate(selections):
            selection += stems_of_kind[size * chunk // chunks : size * (chunk + 1) // chunks]
    return selections


def _chunk_renderer(
    plan: Plan, sections: Mapping[str, Any], roots: tuple[Path, ...]
) -> Callable[[str | list[str]], Any]:
    """`select` -> main.jsonnet's file stems ("names"), or their objects as JSON texts."""
    exp = plan.experiment
    labels = experiment_labels(exp)
    head = {**plan_head(plan), **sections}
    rows = [[row[key] for key in JOB_HEAD] for row in map(job_head, plan.jobs)]
    spine = json.dumps({"plan": head, "rows": rows}, sort_keys=True, separators=(",", ":"))
    memo: ConfigMemo = {}

    def body_of(index: float) -> str:
        # JSON text: std.parseJson builds it several times faster than rjsonnet converts a dict.
        body = job_body(exp, labels, plan.jobs[int(index)], memo)
        return json.dumps(body, separators=(",", ":"))

    natives = {"fltkcJobBody": (("index",), body_of)}

    def render_chunk(select: str | list[str]) -> Any:
        tla = {"spine": spine, "select": json.dumps(select)}
        return evaluate_snippet(DRIVER_NAME, _DRIVER, roots, "rjsonnet", tla, natives)

    return render_chunk


def _driver() -> str:
    """Rebuilds the plan (each job's body a lazy native call) and manifests the selected objects."""
    head = ", ".join(f"{json.dumps(key)}: row[{i}]" for i, key in enumerate(JOB_HEAD))
    body = ", ".join(f"{json.dumps(key)}: body[{json.dumps(key)}]" for key in JOB_BODY)
    fetch = "std.parseJson(std.native('fltkcJobBody')(index))"
    return f"""function(spine, select)
  local s = std.parseJson(spine);
  local job(row, index) = {{ {head}, local body = {fetch}, {body} }};
  local plan = s.plan {{ jobs: [job(s.rows[i], i) for i in std.range(0, std.length(s.rows) - 1)] }};
  local objects = (import '{MAIN_TEMPLATE}')(plan);
  local keys = std.parseJson(select);
  if keys == 'names' then std.objectFields(objects)
  else {{
    [key]: std.manifestJsonMinified(objects[key])
    for key in (if keys == 'all' then std.objectFields(objects) else keys)
  }}
"""


_DRIVER = _driver()
