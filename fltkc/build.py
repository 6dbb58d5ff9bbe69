"""The pipeline: load -> validate -> expand -> render -> write, each stage one call."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from fltkc.errors import CompileError, Diagnostic
from fltkc.expand import Plan, expand
from fltkc.jsonnet_backend import evaluate, search_path
from fltkc.load import Source, load
from fltkc.render import MAIN_TEMPLATE, plan_document, schedule_json
from fltkc.serialize import output_files, to_yaml
from fltkc.validate import validate
from fltkc.workloads import workloads_document
from fltkc.write import write_output

# Rendered but not listed in kustomization.yaml: the Argo CD Application points at the built
# directory, so syncing that directory must not create (or prune) the Application itself.
OUTSIDE_KUSTOMIZATION = {"argocd-application": "argocd-application.yaml"}
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def plan_file(path: Path, queue: str | None = None) -> Plan:
    """Load, validate and expand one experiment file; `queue` overrides spec.kueue.queueName."""
    source = load(path)
    if queue is not None:
        source = with_queue(source, queue)
    return expand(validate(source))


def with_queue(source: Source, queue: str) -> Source:
    """The source as if its file said `spec.kueue.queueName: <queue>`."""
    if not _DNS_1035.fullmatch(queue) or len(queue) > 63:
        message = f"--queue {queue!r} is not a LocalQueue name; use a DNS-1035 label such as fltk"
        raise CompileError([Diagnostic(source.file, 1, 1, "", message)])
    document = source.document
    if not isinstance(document, dict) or not isinstance(document.get("spec"), dict):
        return source  # the schema reports the malformed document
    spec = dict(document["spec"])
    kueue = spec.get("kueue")
    spec["kueue"] = {**(kueue if isinstance(kueue, dict) else {}), "queueName": queue}
    return dataclasses.replace(source, document={**document, "spec": spec})


def render_objects(
    plan: Plan, templates: Path | None = None, backend: str | None = None
) -> dict[str, Any]:
    """`{"<file stem>": object}`: fltkc.render's plan document plus the `workloads` section."""
    document = {**plan_document(plan), "workloads": workloads_document(plan)}
    tla = {"plan": json.dumps(document, sort_keys=True, separators=(",", ":"))}
    objects: dict[str, Any] = evaluate(MAIN_TEMPLATE, tla, search_path(templates), backend)
    return objects


def build_files(
    plan: Plan, templates: Path | None = None, backend: str | None = None
) -> dict[str, bytes]:
    """Render a plan into the file map of out/ (nothing written)."""
    objects = render_objects(plan, templates, backend)
    outside = {
        OUTSIDE_KUSTOMIZATION[stem]: to_yaml(objects.pop(stem)).encode()
        for stem in sorted(OUTSIDE_KUSTOMIZATION)
        if stem in objects
    }
    files = output_files(objects, plan.experiment.namespace, schedule_json(plan))
    return dict(sorted({**files, **outside}.items()))


def build(
    path: Path,
    out_dir: Path,
    templates: Path | None = None,
    backend: str | None = None,
    queue: str | None = None,
) -> dict[str, bytes]:
    """Compile `path` into `out_dir`; returns what was written."""
    files = build_files(plan_file(path, queue), templates, backend)
    write_output(files, out_dir)
    return files
