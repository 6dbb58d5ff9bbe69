"""Render stage with the built-in templates: one evaluation per job shape, strings filled in.

The templates evaluate a plan holding one job per shape (fltkc.compile.stamp), its per-job
strings as tokens; each object of such a job becomes YAML text with holes, filled with every
job's own strings. The built-in templates only place those strings, and what cannot be filled
this way (Unstampable) or fails (TemplateError) is rendered by full evaluation instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fltkc.compile.emit import Writer, document_template, yaml_documents
from fltkc.compile.expand import Plan
from fltkc.compile.jsonnet_eval import evaluate
from fltkc.compile.plan import ConfigMemo, experiment_labels, job_body, job_head, plan_head
from fltkc.compile.render_checks import ObjectChecker, checked_fields, rendered_mapping
from fltkc.compile.stamp import (
    Fill,
    Shapes,
    Unstampable,
    fill_of,
    filled,
    has_token,
    shape_of_text,
    shapes_of,
    token,
)

Filler = Callable[[list[str]], Any]  # a job's strings -> a value with them in place


class _JobObject:
    """One object of every job of a shape: its file stem and YAML text with holes."""

    def __init__(self, stem: str, obj: Mapping[str, Any], shape: int) -> None:
        self.stem = fill_of(stem, shape)
        try:
            texts, holes = document_template(obj, has_token)
        except ValueError:
            raise Unstampable("a mapping key holds a per-job string") from None
        self.first = texts[0]
        self.steps = [  # hole, then the text up to the next one
            (fill_of(hole, shape), indent, text)
            for (hole, indent), text in zip(holes, texts[1:], strict=True)
        ]
        self.checked = _filler(checked_fields(obj), shape)

    def fold(self, values: list[str], same: set[int], writer: Writer) -> None:
        """Fill the holes of strings every job of the shape shares (`same`) once, for all."""
        first, steps = self.first, []
        for fill, indent, text in self.steps:
            slots = [fill] if isinstance(fill, int) else [p for p in fill if isinstance(p, int)]
            if not same.issuperset(slots):
                steps.append((fill, indent, text))
                continue
            piece = writer.tail(filled(fill, values), indent) + text
            if steps:
                before, place, last = steps[-1]
                steps[-1] = (before, place, last + piece)
            else:
                first += piece
        self.first, self.steps = first, steps

    def document(self, values: list[str], tails: dict[int, str], writer: Writer) -> bytes:
        """The object's YAML for a job's strings; `tails` memoises the job's one-line ones."""
        out = [self.first]
        for fill, indent, text in self.steps:
            if isinstance(fill, int):
                piece = tails.get(fill)
                if piece is None:
                    value = values[fill]
                    piece = writer.tail(value, indent)
                    if "\n" not in value:  # a block's lines depend on where it stands
                        tails[fill] = piece
            else:
                piece = writer.tail(filled(fill, values), indent)
            out += (piece, text)
        return "".join(out).encode()


def render_stamped(
    plan: Plan,
    sections: Mapping[str, Any],
    roots: tuple[Path, ...],
    backend: str | None,
    checker: ObjectChecker,
) -> dict[str, bytes]:
    """`{"<file stem>": YAML}` as render_documents gives it, by one evaluation of the shapes."""
    exp = plan.experiment
    labels = experiment_labels(exp)
    memo: ConfigMemo = {}
    jobs = ({**job_head(job), **job_body(exp, labels, job, memo)} for job in plan.jobs)
    workloads = sections.get("workloads") or {}
    wait_data = workloads.get("waitData") or {}
    shapes = shapes_of(jobs, wait_data.get("jobs") or {})
    head = {**plan_head(plan), **sections}
    if has_token(json.dumps(head, ensure_ascii=False)):
        raise Unstampable("the plan holds a character the tokens use")
    if workloads:  # waitData.jobs is keyed by job name: the shapes' names instead
        waits = {token(s, 0): wait for s, (has, wait) in enumerate(shapes.waits) if has}
        head["workloads"] = {**workloads, "waitData": {**wait_data, "jobs": waits}}
    document = {**head, "jobs": shapes.documents}
    tla = {"plan": json.dumps(document, sort_keys=True, separators=(",", ":"))}
    objects = rendered_mapping(evaluate("main.jsonnet", tla, roots, backend))
    return _fill(objects, shapes, checker)


def _fill(objects: Mapping[str, Any], shapes: Shapes, checker: ObjectChecker) -> dict[str, bytes]:
    """The shared objects as they are, the shapes' objects once per job of the shape."""
    shared: dict[str, Any] = {}
    per_shape: list[list[_JobObject]] = [[] for _ in shapes.documents]
    for stem, obj in objects.items():
        shape = shape_of_text(stem)
        if shape is None:
            if has_token(json.dumps(obj, ensure_ascii=False)):
                raise Unstampable(f"{stem} holds a per-job string")
            shared[stem] = obj
        elif not isinstance(obj, dict):
            raise Unstampable(f"{stem} is not an object")  # the full evaluation reports it
        else:
            per_shape[shape].append(_JobObject(stem, obj, shape))
    documents = yaml_documents(shared, checker)
    writer = Writer()
    for shape, (first, same) in enumerate(_shared_strings(shapes)):
        for job_object in per_shape[shape]:
            job_object.fold(first, same, writer)
    for shape, values in shapes.jobs:
        tails: dict[int, str] = {}
        for job_object in per_shape[shape]:
            stem = filled(job_object.stem, values)
            if stem in documents:
                raise Unstampable(f"two objects named {stem}")
            checker(stem, job_object.checked(values))
            documents[stem] = job_object.document(values, tails, writer)
    return dict(sorted(documents.items()))


def _shared_strings(shapes: Shapes) -> list[tuple[list[str], set[int]]]:
    """Per shape: its first job's strings, and which of them all its jobs share."""
    found: list[tuple[list[str], set[int]]] = []
    for shape, values in shapes.jobs:
        if shape == len(found):  # shapes are numbered in order of their first job
            found.append((values, set(range(len(values)))))
            continue
        first, same = found[shape]
        if same:
            same.intersection_update([slot for slot in same if values[slot] == first[slot]])
    return found


def _filler(value: Any, shape: int) -> Filler:
    """`value` (strings holding the shape's tokens) for a job's strings."""
    if isinstance(value, str) and has_token(value):
        fill: Fill = fill_of(value, shape)
        return lambda values: filled(fill, values)
    if isinstance(value, dict):
        fillers = {key: _filler(item, shape) for key, item in value.items()}
        return lambda values: {key: f(values) for key, f in fillers.items()}
    if isinstance(value, list):
        items = [_filler(item, shape) for item in value]
        return lambda values: [f(values) for f in items]
    return lambda _: value
